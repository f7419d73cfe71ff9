"""The SPOC pack's findings (page 1): every statistically supported statement about the area, in plain
words, ranked by strength of evidence. Only numbers the pack's tables show are used.

Families, each adjusted on its own: the groups of one characteristic against the reference group
(the registry table's own adjustment); the groups of one characteristic against the same group in
the rest of the force; and the area's own tests (trend over 13 months, this month against the
previous 12, time to resolve and independence against the rest of the force, open beyond the
service standard against the rest of the force). The funnel position is one exact test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from metrics import formats
from metrics.config import DEFAULTS, Settings
from metrics.intervals import conditional_rate_test
from metrics.queries import add_months
from metrics.significance import adjust_pvalues, two_by_two_test
from metrics.warehouse import Warehouse

if TYPE_CHECKING:
    from metrics.spoc import PackTable

FORCE = "FORCE"
BREAKDOWN_CHARACTERISTICS = ("ethnicity_group", "sex", "disability")
FUNNEL_WORDS = {"alarm": "above the force's 99.8% limit", "alert": "above the force's 95% limit (within 99.8%)",
                "low alarm": "below the force's 99.8% limit", "low alert": "below the force's 95% limit (within 99.8%)",
                "within": "within the range expected from the force's rate (95% limits)",
                "no data": "not placed (no person-years)"}


@dataclass(frozen=True)
class Finding:
    """One statistically supported statement, in plain words, naming its test."""

    theme: str  # which question it answers
    statement: str
    test: str
    p_value: float | None = None
    p_adjusted: float | None = None


def month_label(m: date) -> str:
    return m.strftime("%B %Y")


THEME_ORDER = ("Rates by protected characteristic", "Rates against the force", "Funnel position",
               "Trend over 13 months", "Time to resolve", "Independence of assessors", "Outcomes",
               "Misconduct referrals")
TEST_WORDS = {
    "rate_vs_reference": "exact test comparing two rates",
    "rate_vs_force": "exact test comparing two rates",
    "funnel": "exact Poisson test against the force rate",
    "trend": "Poisson regression on month, likelihood-ratio test",
    "spike": "exact test of this month against the previous 12",
    "median_ci": "95% confidence interval of the median",
    "log_rank": "log-rank test",
}


def group_words(characteristic: str, group: str) -> str:
    """How a sentence names the people in a group ("women", "Black staff", "disabled staff")."""
    special = {"Female": "women", "Male": "men", "Disabled": "disabled staff",
               "Not disabled": "staff who are not disabled"}
    if characteristic == "sex" or characteristic == "disability":
        return special.get(group, f"staff recorded as {group}")
    return f"{group} staff"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _shown(row: dict) -> bool:
    return not row.get("is_suppressed") and row.get("events") is not None


def find_findings(wh: Warehouse, month_start: date, code: str, name: str, tables: list[PackTable], *,
                  settings: Settings = DEFAULTS) -> tuple[list[Finding], str]:
    """Every statistically supported finding for the area, ranked by strength of evidence (adjusted
    p, smallest first), and a note saying how they were chosen (the families: see the module)."""
    here = "across the force" if code == FORCE else f"in {name}"
    by_key = {t.key: t for t in tables}
    out: list[Finding] = []
    for c in BREAKDOWN_CHARACTERISTICS:
        t = by_key[f"raised_by_{c}"]
        out += _vs_reference(t, c, here, THEME_ORDER[0], "raised grievances", exposure=True, words="rates")
        if t.force is not None:
            out += _vs_rest_of_force(t, c, here, settings)
    if code != FORCE:
        out += _funnel(by_key["funnel"].frame, code, name)
    family, from_interval = _area_tests(wh, month_start, code, here, by_key, settings)
    out += from_interval
    adjusted = adjust_pvalues([x[3] for x in family], settings.adjustment)
    for (theme, statement, test, p), pa in zip(family, adjusted, strict=True):
        if pa is not None and pa < settings.alpha:
            out.append(Finding(theme, f"{statement} ({test}, adjusted {formats.p_phrase(pa)}).", test, p, pa))
    for key, theme, verb in (
            *((f"upheld_by_{c}", THEME_ORDER[6], "had their closed grievances upheld") for c in BREAKDOWN_CHARACTERISTICS),
            ("independent_assessor", THEME_ORDER[5], "had an independent assessor"),
            ("misconduct_referrals", THEME_ORDER[7], "were referred for misconduct")):
        t = by_key[key]
        out += _vs_reference(t, t.characteristic or "ethnicity_group", here, theme, verb,
                             exposure=t.kind == "exposure", words="tables")
    # Strongest evidence first; a finding read from a confidence interval (no p-value) after those with one.
    out.sort(key=lambda x: (x.p_adjusted if x.p_adjusted is not None else 1.0, THEME_ORDER.index(x.theme)))
    return out, _note(out, here, settings)


def _note(out: list[Finding], here: str, settings: Settings) -> str:
    note = (f"Each finding is supported by the test it names at the {settings.alpha:.0%} level, after allowing for "
            f"the number of comparisons made ({'Holm' if settings.adjustment == 'holm' else 'Benjamini-Hochberg'} "
            "adjustment); they are ranked by strength of evidence, strongest first. Groups too small to report are "
            "never the basis of a finding.")
    if not out:
        note = (f"Nothing {here} stands out: no difference between groups, from the rest of the force, or over "
                "the 13 months is statistically supported. " + note)
    return note


def _vs_reference(t: PackTable, c: str, here: str, theme: str, verb: str, *, exposure: bool,
                  words: str) -> list[Finding]:
    """Each group's significant difference from its reference group, in the table's own comparison."""
    out = []
    rows = {r["group"]: r for r in t.frame.iter_rows(named=True)}
    for r in rows.values():
        ref = rows.get(r.get("reference_group"))
        if not (r.get("is_significant") and _shown(r) and ref is not None and _shown(ref)):
            continue
        if words == "rates":  # grievances raised: the rates sentence, with per 1,000 person-years
            higher = (r["rate_per_1000"] or 0) > (ref["rate_per_1000"] or 0)
            times = (f"{r['ratio']:.2f} times the rate of" if r["ratio"] else
                     ("a higher rate than" if higher else "a lower rate than"))
            out.append(Finding(
                theme, f"{_cap(group_words(c, r['group']))} {here} {verb} at {times} {group_words(c, ref['group'])} "
                f"({_n(r['rate_per_1000'])} against {_n(ref['rate_per_1000'])} per 1,000 person-years in {t.period}; "
                f"{TEST_WORDS['rate_vs_reference']}, adjusted {formats.p_phrase(r['p_adjusted'])}).",
                TEST_WORDS["rate_vs_reference"], r["p_value"], r["p_adjusted"]))
            continue
        test = _test_words(r["method"])
        times = f"{r['ratio']:.2f} times the rate of" if r["ratio"] else "a different rate from"
        figures = (f"{_n(r['rate_per_1000'])} against {_n(ref['rate_per_1000'])} per 1,000 person-years" if exposure
                   else f"{formats.fmt_pct(r['rate'])} against {formats.fmt_pct(ref['rate'])}")
        out.append(Finding(
            theme, f"{_cap(group_words(c, r['group']))} {here} {verb} at {times} {group_words(c, ref['group'])} in "
            f"{t.period} ({figures}; {test}, adjusted {formats.p_phrase(r['p_adjusted'])}).", test, r["p_value"],
            r["p_adjusted"]))
    return out


def _vs_rest_of_force(t: PackTable, c: str, here: str, settings: Settings) -> list[Finding]:
    """Each group's rate against the same group in the rest of the force: one sentence per direction."""
    rows = {r["group"]: r for r in t.frame.iter_rows(named=True)}
    force = {r["group"]: r for r in t.force.iter_rows(named=True)}
    cands = []
    for g, r in rows.items():
        f = force.get(g)
        if g == "Not stated" or f is None or not _shown(r) or not _shown(f):
            continue
        k_rest, e_rest = f["events"] - r["events"], f["exposure"] - r["exposure"]
        if e_rest <= 0:
            continue
        p, _ = conditional_rate_test(r["events"], r["exposure"], k_rest, e_rest)
        cands.append((r, 1000 * k_rest / e_rest, p))
    # One sentence per characteristic and direction: "higher for women (..) and men (..)".
    supported = [(r, rest, p, pa) for (r, rest, p), pa in
                 zip(cands, adjust_pvalues([x[2] for x in cands], settings.adjustment), strict=True)
                 if pa is not None and pa < settings.alpha]
    out = []
    for word in ("higher", "lower"):
        part = [x for x in supported if (x[0]["rate_per_1000"] > x[1]) == (word == "higher")]
        if not part:
            continue
        who = _join([f"{group_words(c, r['group'])} ({_n(r['rate_per_1000'])} against {_n(rest)})"
                     for r, rest, _, _ in part])
        worst = max(x[3] for x in part)
        out.append(Finding(
            THEME_ORDER[1],
            f"Grievance rates {here} in {t.period} were {word} than in the rest of the force for {who}, "
            f"per 1,000 person-years ({TEST_WORDS['rate_vs_force']}, {_each(worst, len(part))}).",
            TEST_WORDS["rate_vs_force"], min(x[2] for x in part), worst))
    return out


def _funnel(f: pl.DataFrame, code: str, name: str) -> list[Finding]:
    """The funnel position: the area's 12-month rate against the force rate, when outside 99.8%."""
    row = f.filter(pl.col("group") == code) if "group" in f.columns else f.clear()
    if not (row.height and row["flag"][0] in ("alarm", "low alarm")):
        return []
    r = row.row(0, named=True)
    p = _poisson_vs_expected(r["events"], r["exposure"] * r["overall_rate"])
    return [Finding(
        THEME_ORDER[2],
        f"{name}'s grievance rate over the 12 months, {_n(r['rate_per_1000'])} per 1,000 person-years, "
        f"is {FUNNEL_WORDS[r['flag']]} around the force rate of {_n(1000 * r['overall_rate'])} "
        f"({TEST_WORDS['funnel']}, {formats.p_phrase(p)}).", TEST_WORDS["funnel"], p, p)]


def _area_tests(wh: Warehouse, month_start: date, code: str, here: str, by_key: dict, settings: Settings
                ) -> tuple[list[tuple], list[Finding]]:
    """The area's own tests, to be adjusted together: (theme, statement without p, test, p) each; and
    the findings read from a median's confidence interval (no p-value)."""
    monthly = by_key["counts"].frame.filter(pl.col("measure") == "n_raised").sort("month_start")
    ys = [int(v) for v in monthly["n"].to_list()]
    family = _monthly_tests(ys, month_start, here)
    family_res, from_interval = _resolution_tests(by_key["time_to_resolve"].frame, code, here, settings)
    family += family_res
    if code != FORCE:
        family.extend(_area_against_rest(wh, month_start, code, here, settings))
    return family, from_interval


def _monthly_tests(ys: list[int], month_start: date, here: str) -> list[tuple]:
    family = []
    trend = poisson_trend(ys)
    if trend is not None:
        slope, p = trend
        first, last = _fitted(ys, slope)
        family.append((THEME_ORDER[3],
                       f"Grievances raised {here} {'rose' if slope > 0 else 'fell'} over the 13 months "
                       f"(from about {first:.1f} to {last:.1f} a month on the fitted trend, {sum(ys)} in all)",
                       TEST_WORDS["trend"], p))
    if len(ys) == 13 and sum(ys) > 0:
        k, before = ys[-1], sum(ys[:-1])
        p, _ = conditional_rate_test(k, 1.0, before, 12.0)
        family.append((THEME_ORDER[3],
                       f"Grievances raised {here} in {month_label(month_start)}: {k}, "
                       f"{'up on' if k > before / 12 else 'down on'} the previous 12 months' average of "
                       f"{before / 12:.1f} a month", TEST_WORDS["spike"], p))
    return family


def _resolution_tests(res: pl.DataFrame, code: str, here: str, settings: Settings
                      ) -> tuple[list[tuple], list[Finding]]:
    """Time to resolve: the median against the service standard (its interval), and against the force."""
    mine = res.filter(pl.col("group") == ("Force" if code == FORCE else "This area"))
    if not (mine.height and not mine["is_suppressed"][0]):
        return [], []
    standard = settings.service_standard_days
    r = mine.row(0, named=True)
    lo, hi, med = r["median_ci_low"], r["median_ci_high"], r["median_days"]
    out = []
    if med is not None and lo is not None and (lo > standard or (hi is not None and hi < standard)):
        word = "longer" if lo > standard else "shorter"
        out.append(Finding(
            THEME_ORDER[4],
            f"Grievances raised {here} in the 12 months take a median of {formats.fmt_days(med)} days to resolve, "
            f"{word} than the {standard}-day standard (the {TEST_WORDS['median_ci']}, {formats.fmt_days(lo)} to "
            f"{formats.fmt_days(hi) if hi is not None else 'no upper limit'} days, does not include {standard}).",
            TEST_WORDS["median_ci"], None, None))
    force_row = res.filter(pl.col("group") == "Force")
    if code == FORCE or r["p_value"] is None or not force_row.height or force_row["is_suppressed"][0]:
        return [], out
    fm = force_row["median_days"][0]
    return [(THEME_ORDER[4],
             f"Grievances {here} take {'longer' if (med or 1e9) > (fm or 1e9) else 'less time'} to "
             f"resolve than across the force (median {formats.fmt_days(med)} days against {formats.fmt_days(fm)})",
             TEST_WORDS["log_rank"], r["p_value"])], out


def _area_against_rest(wh: Warehouse, month_start: date, code: str, here: str, settings: Settings) -> list[tuple]:
    """Totals (no characteristic) of the area against the rest of the force: open beyond the service standard
    at month end, and grievances with an independent assessor over the 12 months."""
    out = []
    raw = wh.query(
        """select business_area_code = $code as is_area, sum(n_open)::bigint as n,
                  sum(n_open_overdue)::bigint as events
           from fct_spoc_monthly where month_start = $month group by all""", {"code": code, "month": month_start})
    ind = wh.query(
        """select business_area_code = $code as is_area, count(*)::bigint as n,
                  count(*) filter (where is_independent_assessor)::bigint as events
           from fct_grievance_outcomes where raised_month between $first and $month group by all""",
        {"code": code, "first": add_months(month_start, -11), "month": month_start})
    for frame, theme, what in ((raw, THEME_ORDER[4], "Open grievances at month end that had been open for more than "
                                f"{settings.service_standard_days} days"),
                               (ind, THEME_ORDER[5], "Grievances raised in the 12 months with an independent assessor")):
        a, r = frame.filter(pl.col("is_area")), frame.filter(~pl.col("is_area"))
        if not (a.height and r.height):
            continue
        n_a, e_a, n_r, e_r = int(a["n"][0]), int(a["events"][0]), int(r["n"][0]), int(r["events"][0])
        if n_a == 0 or n_r == 0:
            continue
        p, test = two_by_two_test(e_a, n_a, e_r, n_r)
        out.append((theme, f"{what}: {formats.fmt_pct(e_a / n_a)} {here} ({e_a} of {n_a}) against {formats.fmt_pct(e_r / n_r)} in the "
                           "rest of the force", _test_words(test), p))
    return out


def poisson_trend(counts: list[int]) -> tuple[float, float] | None:
    """Log-linear trend in monthly counts: (slope per month, likelihood-ratio p), by a Poisson
    regression of count on month number (R: anova(glm(y ~ t, family = poisson), test = "Chisq")).
    None when there is nothing to fit (fewer than 3 months, or no grievances at all)."""
    import numpy as np
    from scipy import stats

    y = np.asarray(counts, dtype=float)
    if y.size < 3 or y.sum() == 0:
        return None
    t = np.arange(y.size, dtype=float)
    # Newton-Raphson on (a, b) of log mu = a + b t; concave, so it converges from the null fit.
    a, b = math.log(y.mean()), 0.0
    # Steps are capped, and the fit stops once the slope is steep enough that every fitted month
    # but the first or last is ~0: all grievances in one end month have no finite maximum.
    for _ in range(200):
        mu = np.exp(a + b * t)
        grad = np.array([(y - mu).sum(), ((y - mu) * t).sum()])
        hess = np.array([[mu.sum(), (mu * t).sum()], [(mu * t).sum(), (mu * t * t).sum()]])
        if abs(np.linalg.det(hess)) < 1e-300:
            break
        step = np.clip(np.linalg.solve(hess, grad), -1.0, 1.0)
        a, b = a + step[0], b + step[1]
        if abs(step).max() < 1e-12 or abs(b) > 5:
            break
    a = math.log(y.sum() / np.exp(b * t).sum())  # the intercept's score equation, given the slope
    mu1, mu0 = np.exp(a + b * t), np.full_like(y, y.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = lambda mu: float(np.sum(np.where(y > 0, y * np.log(mu), 0.0) - mu))  # noqa: E731
        lr = max(0.0, 2 * (ll(mu1) - ll(mu0)))
    return float(b), float(stats.chi2.sf(lr, 1))


def _fitted(ys: list[int], slope: float) -> tuple[float, float]:
    """The fitted trend's first and last month (the fit keeps the total: sum(mu) = sum(y))."""
    n = len(ys)
    weights = [math.exp(slope * i) for i in range(n)]
    a = sum(ys) / sum(weights)
    return a * weights[0], a * weights[-1]


def _poisson_vs_expected(k: int, expected: float) -> float:
    """Two-sided exact Poisson p-value of k events against an expected count (R: poisson.test(k, T, r),
    doubling the smaller tail)."""
    from scipy import stats

    lower, upper = stats.poisson.cdf(k, expected), stats.poisson.sf(k - 1, expected)
    return float(min(1.0, 2 * min(lower, upper)))


def _test_words(method: str | None) -> str:
    """A registry method string in plain words: the test, without interval jargon."""
    m = (method or "").lower()
    if "fisher" in m:
        return "Fisher's exact test"
    if "chi" in m:
        return "chi-square test"
    if "poisson" in m or "binomial" in m:
        return TEST_WORDS["rate_vs_reference"]
    return "test as named in the table"


def _each(worst: float, n: int) -> str:
    """The adjusted p of a sentence naming n groups, by the largest of them."""
    if n == 1:
        return f"adjusted {formats.p_phrase(worst)}"
    return "adjusted p < 0.001 for each" if worst < 0.001 else f"adjusted p-values up to {formats.fmt_p(worst)}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _n(x: float | None) -> str:
    return "–" if x is None else f"{x:,.1f}"
