"""Plain-English sentences from tidy metric rows: what a chart shows, said once, with its test named.

Pure functions of rows (dicts) and frames; no statistics are recomputed here. Two rules hold in every
sentence: "significant" is never written without the test and the adjustment that make it so, and a
suppressed or tiny group is "too few to report", never a number. The force's aggregate ethnic group
is written out in full (metrics.config.AGGREGATE_LABEL); the interface never uses the acronym GOV.UK
advises against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from metrics import formats
from metrics.config import CHARACTERISTICS
from metrics.tidy import TOO_FEW

# Test phrases as the metric functions write them in `method`, and how a sentence names them.
_TESTS: tuple[tuple[str, str], ...] = (
    ("group x period interaction", "Wald test of the group x year interaction in a Poisson regression"),
    ("Cochran-Mantel-Haenszel", "Cochran-Mantel-Haenszel test within financial years"),
    ("exact conditional binomial test", "exact Poisson test"),
    ("one-sided exact binomial test", "one-sided exact binomial test"),
    ("Fisher exact", "Fisher's exact test"),
    ("chi-square", "chi-square test"),
    ("binomial GLM", "Wald test, logistic regression"),
    ("Poisson GLM", "Wald test, Poisson regression"),
    ("quasi-Poisson", "Wald test, quasi-Poisson regression"),
    ("log-rank", "log-rank test"),
)
_ADJUSTMENTS = {"Holm": "Holm", "Benjamini-Hochberg": "Benjamini-Hochberg"}

# How each kind of ratio is read aloud.
RATIO_WORDS = {
    "likely": "times as likely as",  # relative rate of a proportion
    "rate": "times the rate of",  # incidence-rate ratio
    "odds": "times the odds of",  # odds ratio
    "selection": "times the selection rate of",  # four-fifths impact ratio
}


def test_name(method: str | None) -> str | None:
    """The statistical test a method string records, in words a reader knows, or None."""
    if not method:
        return None
    for phrase, name in _TESTS:
        if phrase.lower() in method.lower():
            return name
    return None


def adjustment_name(method: str | None) -> str | None:
    if not method:
        return None
    for phrase, name in _ADJUSTMENTS.items():
        if phrase in method:
            return name
    return None


def group_phrase(characteristic: str, group: str, noun: str = "officers and staff") -> str:
    """'Black officers and staff', 'officers and staff aged 25-34', 'Female applicants'."""
    if characteristic == "age_band":
        return f"{noun} aged {group}"
    if characteristic == "service_band":
        return f"{noun} with {group} of service"
    if characteristic == "rank_grade":
        return f"{noun} at {group}"
    if characteristic == "worker_type":
        return f"{group}s" if not group.endswith("s") else group
    if characteristic in ("gender_reassignment", "pregnancy_maternity") or group in ("Yes", "No"):
        label = CHARACTERISTICS[characteristic].label.lower() if characteristic in CHARACTERISTICS else characteristic
        return f"{noun} ({label}: {group})"
    return f"{group} {noun}"


def is_too_few(row: Mapping[str, Any]) -> bool:
    """A row that must not be described with numbers: suppressed, or flagged too few by its function."""
    note = row.get("note") or ""
    return bool(row.get("is_suppressed")) or TOO_FEW in note


def significance_clause(row: Mapping[str, Any]) -> str:
    """'significant after Holm adjustment (exact Poisson test)', or why not: the test always named."""
    method = row.get("method")
    test = test_name(method)
    adjustment = adjustment_name(method)
    p_adj, p_raw = row.get("p_adjusted"), row.get("p_value")
    if test is None or p_raw is None:
        return "no test was possible"
    if p_adj is None:
        # Not in the adjustment family (e.g. "Not stated"): raw p only, said as such.
        return f"{formats.p_phrase(p_raw)} unadjusted ({test}; not in the comparison family)"
    where = f"after {adjustment} adjustment" if adjustment else "(no adjustment)"
    if row.get("is_significant"):
        return f"significant {where} ({test}, adjusted {formats.p_phrase(p_adj)})"
    return f"not significant {where} ({test}, adjusted {formats.p_phrase(p_adj)})"


def ratio_sentence(row: Mapping[str, Any], *, outcome: str, noun: str = "officers and staff",
                   kind: str = "likely", confidence: float = 0.95) -> str:
    """One group compared with its reference, e.g. 'Black officers and staff were 1.8 times as likely
    as White officers and staff to be referred (95% CI 1.5–2.1); significant after Holm adjustment
    (exact Poisson test, adjusted p < 0.001).'"""
    characteristic = row.get("characteristic") or ""
    who = group_phrase(characteristic, str(row.get("group")), noun)
    who = who[0].upper() + who[1:]
    reference = row.get("reference_group")
    if is_too_few(row):
        return f"{who}: {TOO_FEW}."
    if row.get("is_reference"):
        return f"{who} are the reference group."
    ratio = row.get("ratio")
    if ratio is None:
        reason = _method_reason(row.get("method"))
        return f"{who}: no ratio could be estimated{f' ({reason})' if reason else ''}."
    ref_phrase = group_phrase(characteristic, str(reference), noun) if reference else "the reference group"
    words = RATIO_WORDS[kind]
    ci = ""
    if row.get("ratio_ci_low") is not None and row.get("ratio_ci_high") is not None:
        ci = f" ({confidence:.0%} CI {formats.fmt_interval(row['ratio_ci_low'], row['ratio_ci_high'])})"
    claim = " ".join(part for part in (who, "were", formats.fmt_ratio(ratio), words, ref_phrase, outcome.strip()) if part)
    sentence = f"{claim}{ci}; {significance_clause(row)}."
    note = row.get("note") or ""
    for part in note.split("; "):
        if part.startswith("the ") and "interval" in part:
            sentence += f" ({part[0].upper()}{part[1:]}.)"
    if row.get("is_not_stated"):
        sentence += " 'Not stated' is shown for data quality only."
    if row.get("stage") and " to date (" in str(row.get("stage")) or " part (" in str(row.get("stage") or ""):
        sentence += f" {row['stage']} is part of a year, not a whole one."
    return sentence


def ratio_sentences(frame: pl.DataFrame, *, outcome: str, noun: str = "officers and staff", kind: str = "likely",
                    stage: str | None = None) -> list[str]:
    """A sentence for every non-reference group (every group is shown, never only an aggregate)."""
    rows = _rows(frame, stage)
    return [ratio_sentence(r, outcome=outcome, noun=noun, kind=kind) for r in rows if not r.get("is_reference")]


def headline(frame: pl.DataFrame, *, outcome: str, noun: str = "officers and staff", kind: str = "likely",
             stage: str | None = None) -> str:
    """The single most telling sentence: the significant group furthest from parity, else a summary."""
    rows = [r for r in _rows(frame, stage) if not r.get("is_reference") and not r.get("is_not_stated")]
    if not rows:
        return "There are no groups to compare for this selection."
    # A ratio of 0 (no events in the group) is a comparison like any other, not "too few".
    shown = [r for r in rows if not is_too_few(r) and r.get("ratio") is not None]
    significant = [r for r in shown if r.get("is_significant")]
    if significant:
        import math

        top = max(significant, key=lambda r: abs(math.log(r["ratio"])) if r["ratio"] > 0 else math.inf)
        return ratio_sentence(top, outcome=outcome, noun=noun, kind=kind)
    hidden = sum(1 for r in rows if is_too_few(r))
    tests = sorted({t for r in shown if (t := test_name(r.get("method")))})
    if not shown:
        return f"Every group compared is {TOO_FEW}."
    sentence = (f"No group differed significantly from the reference group after adjustment "
                f"({', '.join(tests) or 'no test possible'}; {len(shown)} group{'s' if len(shown) != 1 else ''} compared).")
    if hidden:
        sentence += f" {hidden} group{'s are' if hidden != 1 else ' is'} {TOO_FEW}."
    return sentence


def rate_sentence(row: Mapping[str, Any], *, what: str, per: str = "share", noun: str = "officers and staff") -> str:
    """A group's level: 'Black officers and staff: 12.3% of closed grievances upheld (95% CI 8.1–17.9%).'"""
    characteristic = row.get("characteristic") or ""
    who = group_phrase(characteristic, str(row.get("group")), noun)
    who = who[0].upper() + who[1:]
    if is_too_few(row) or row.get("rate") is None:
        return f"{who}: {TOO_FEW}."
    if per == "per_1000":
        value = f"{formats.fmt_rate(row['rate'] * 1000)} {what} per 1,000 person-years"
        ci = _ci(row, scale=1000, suffix="")
    else:
        value = f"{formats.fmt_pct(row['rate'])} {what}"
        ci = _ci(row, scale=100, suffix="%")
    return f"{who}: {value}{ci}."


def target_sentence(row: Mapping[str, Any], *, what: str) -> str:
    """A share against its target at one date, with the one-sided test named."""
    period = row.get("stage") or ""
    group = row.get("group")
    if is_too_few(row) or row.get("rate") is None:
        return f"{period}: {group}: {TOO_FEW}."
    share = f"{formats.fmt_pct(row['rate'])}"
    target = row.get("target_share")
    base = f"At {period}, {share} of {what} were from {group}{_ci(row, scale=100, suffix='%')}"
    if target is None:
        return base + "; no target was set for that date."
    test = test_name(row.get("method")) or "no test"
    verdict = "significantly below" if row.get("is_significant") else "not significantly below"
    relation = "below" if row["rate"] < target else "at or above"
    return (f"{base}, {relation} the target trajectory of {formats.fmt_pct(target)}; {verdict} it "
            f"({test}, {formats.p_phrase(row.get('p_value'))}, not adjusted).")


def funnel_sentence(frame: pl.DataFrame, *, what: str, area_names: Mapping[str, str] | None = None) -> str:
    """How many business areas sit outside the funnel limits, naming those above the outer limit."""
    if frame.height == 0 or "flag" not in frame.columns:
        return "There are no business areas to compare for this selection."
    names = area_names or {}
    flags = frame["flag"].to_list()
    groups = frame["group"].to_list()
    high = [names.get(g, g) for g, f in zip(groups, flags, strict=True) if f == "alarm"]
    alert = sum(f == "alert" for f in flags)
    low = sum(f in ("low alarm", "low alert") for f in flags)
    total = sum(f != "no data" for f in flags)
    parts = [f"Of {total} business areas, {len(high)} had {what} above the 99.8% limit"]
    if high:
        parts[0] += f" ({', '.join(sorted(high))})"
    parts.append(f"{alert} between the 95% and 99.8% limits")
    parts.append(f"{low} below the lower limits (exact Poisson funnel limits around the force rate)")
    return "; ".join(parts) + "."


def median_sentence(frame: pl.DataFrame, *, noun: str = "officers and staff") -> str:
    """Median days to resolve by group (Kaplan-Meier), each compared with the reference group by the
    log-rank test (adjusted p named), too-few groups named as such."""
    parts = []
    for r in frame.iter_rows(named=True):
        who = group_phrase(r.get("characteristic") or "", str(r["group"]), noun)
        if is_too_few(r):
            parts.append(f"{who}: {TOO_FEW}")
            continue
        days = "median not reached" if r.get("median_days") is None else f"{formats.fmt_days(r['median_days'])} days"
        if r.get("is_reference"):
            parts.append(f"{who}: {days} (the reference group)")
        elif r.get("p_value") is None:
            parts.append(f"{who}: {days} ({_method_reason(r.get('method')) or 'no test was possible'})")
        else:
            parts.append(f"{who}: {days}, {_vs(r)}{significance_clause(r)}")
    if not parts:
        return "There are no grievances to describe for this selection."
    return "Median time to resolve (Kaplan-Meier, open grievances censored): " + "; ".join(parts) + "."


def _vs(row: Mapping[str, Any]) -> str:
    reference = row.get("reference_group")
    return f"vs {reference}: " if reference else ""


def trend_sentences(test: pl.DataFrame, *, outcome: str = "referral", noun: str = "officers and staff") -> list[str]:
    """The answer to "is the gap falling?", one sentence per group, from misconduct_trend_test:
    the change per year in the group's rate ratio, its interval and the trend test that decides
    it, named (a Wald test of the group x year interaction in a Poisson regression)."""
    out = []
    for r in test.iter_rows(named=True):
        if r.get("is_reference"):
            continue
        characteristic = r.get("characteristic") or ""
        who = group_phrase(characteristic, str(r["group"]), noun)
        ref = group_phrase(characteristic, str(r.get("reference_group")), noun)
        period = f" over {r['period_label']}" if r.get("period_label") else ""
        if is_too_few(r):
            out.append(f"Is the gap falling for {who}? {TOO_FEW}.")
            continue
        if r.get("ratio") is None or r.get("p_value") is None:
            reason = _method_reason(r.get("method"))
            out.append(f"Is the gap falling for {who}? No trend could be estimated{f' ({reason})' if reason else ''}.")
            continue
        change = r["ratio"] - 1
        verdict = ("it is falling" if r.get("is_significant") and change < 0 else
                   "it is rising" if r.get("is_significant") and change > 0 else
                   "no evidence that it is changing")
        ci = ""
        if r.get("ratio_ci_low") is not None and r.get("ratio_ci_high") is not None:
            ci = f" (95% CI {formats.fmt_interval(r['ratio_ci_low'], r['ratio_ci_high'])})"
        out.append(
            f"Is the gap falling? The {outcome} rate ratio of {who} to {ref} changed by a factor of "
            f"{formats.fmt_ratio(r['ratio'])} a year{ci}{period}; {significance_clause(r)}: {verdict}."
            + (f" Note: {r['note']}." if r.get("note") and "interval" in (r.get("note") or "") else ""))
    return out


def _ci(row: Mapping[str, Any], *, scale: float, suffix: str) -> str:
    lo, hi = row.get("ci_low"), row.get("ci_high")
    if lo is None or hi is None:
        return ""
    if suffix == "%":
        return f" (95% CI {formats.fmt_pct_interval(lo, hi)})"
    return f" (95% CI {formats.fmt_interval(scale * lo, scale * hi, formats.fmt_rate)})"


def _method_reason(method: str | None) -> str | None:
    if not method:
        return None
    for part in method.split(";"):
        part = part.strip()
        if part.startswith(("ratio not estimable", "reference group", "no test", "IRR 0", "RR 0")):
            return part
    return None


def _rows(frame: pl.DataFrame, stage: str | None) -> list[dict[str, Any]]:
    if stage is not None and "stage" in frame.columns:
        frame = frame.filter(pl.col("stage") == stage)
    return list(frame.iter_rows(named=True))
