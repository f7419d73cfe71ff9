"""Findings: the adverse results a reader must act on, and a plain-words verdict for any row.

Pure functions over metric tables exactly as metrics.tables.get_table returns them (no statistics
recomputed, no DuckDB, no Streamlit), so the Board's "needs action" list and every page's findings
table are testable on their own.

What counts as a significant adverse finding (each is stated in its `verdict`):
- misconduct referral rates, adjusted rates and decision points: a group's ratio to the reference
  above 1, significant after adjustment for multiple comparisons;
- grievances upheld (adjusted for category): odds below the reference's, significant;
- acting-up and each recruitment stage: impact ratio below 0.8 (fails the four-fifths rule) and
  significant after adjustment;
- business areas above the 99.8% funnel limit;
- representation and recruit share: the latest year significantly below the target trajectory;
- STRIDE commitments rated Red or with milestones overdue; IOPC actions with milestones overdue.

Ranked by evidence: statistical findings by adjusted p (smallest first; a funnel alarm counts as
p < 0.002, the limit it crossed), then by distance from parity; then the recorded status facts
(STRIDE, IOPC), Red first, then by milestones overdue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from metrics.tidy import TOO_FEW

FOUR_FIFTHS = 0.8
FUNNEL_OUTER_P = 0.002  # the 99.8% limit


@dataclass(frozen=True)
class Finding:
    page: str  # app page (url path)
    section: str  # anchor of the section on that page
    topic: str  # what was measured, in words
    group: str  # who (a group, a business area, a commitment, an action)
    measure: str  # the number's name: "rate ratio", "impact ratio", ...
    value: float | None  # the ratio or share
    ci_low: float | None
    ci_high: float | None
    p: float | None  # adjusted p (raw for a one-sided target test), None for a recorded status
    verdict: str  # plain words: "fails the four-fifths rule", "Red, 5 milestones overdue"
    lead: str | None = None  # senior lead (STRIDE, IOPC)
    rank: tuple = ()



def _usable(r: Mapping) -> bool:
    note = r.get("note") or ""
    return (not r.get("is_reference") and not r.get("is_not_stated") and not r.get("is_suppressed")
            and TOO_FEW not in note and r.get("ratio") is not None and r.get("group") != "Not stated")


def _strength(p: float | None, ratio: float | None) -> tuple:
    distance = abs(math.log(ratio)) if ratio and ratio > 0 else math.inf
    return (0, p if p is not None else 1.0, -distance)


def _higher(frame: pl.DataFrame | None, *, page: str, section: str, topic: str, measure: str,
            verdict: str, stage_words: str = "") -> list[Finding]:
    """Rows with a ratio above 1 that is significant after adjustment."""
    out = []
    for r in _rows(frame):
        if _usable(r) and r.get("is_significant") and r["ratio"] > 1:
            stage = r.get("stage")
            out.append(Finding(page, section, f"{topic}{f' {stage_words}{stage}' if stage else ''}", str(r["group"]),
                               measure, r["ratio"], r.get("ratio_ci_low"), r.get("ratio_ci_high"),
                               r.get("p_adjusted"), verdict, rank=_strength(r.get("p_adjusted"), r["ratio"])))
    return out


def _lower(frame: pl.DataFrame | None, *, page: str, section: str, topic: str, measure: str, verdict: str,
           four_fifths: bool = False) -> list[Finding]:
    """Rows below parity (or below 0.8 for the four-fifths rule), significant after adjustment."""
    out = []
    for r in _rows(frame):
        if not (_usable(r) and r.get("is_significant")):
            continue
        if (four_fifths and r["ratio"] < FOUR_FIFTHS) or (not four_fifths and r["ratio"] < 1):
            stage = r.get("stage")
            out.append(Finding(page, section, f"{topic}{f': {stage}' if stage else ''}", str(r["group"]), measure,
                               r["ratio"], r.get("ratio_ci_low"), r.get("ratio_ci_high"), r.get("p_adjusted"),
                               verdict, rank=_strength(r.get("p_adjusted"), r["ratio"])))
    return out


def _funnel(frame: pl.DataFrame | None, area_names: Mapping[str, str], *, page: str, section: str,
            topic: str) -> list[Finding]:
    out = []
    for r in _rows(frame):
        if r.get("flag") == "alarm":
            name = area_names.get(str(r["group"]), str(r["group"]))
            rate = r.get("rate_per_1000")
            out.append(Finding(page, section, topic, name, "per 1,000 person-years", rate, None, None, None,
                               "above the 99.8% funnel limit",
                               rank=(0, FUNNEL_OUTER_P, -(r.get("rate") or 0))))
    return out


def _target(frame: pl.DataFrame | None, *, page: str, section: str, topic: str) -> list[Finding]:
    """The latest year with a target: a share significantly below its trajectory."""
    rows = [r for r in _rows(frame) if r.get("target_share") is not None and r.get("rate") is not None]
    if not rows:
        return []
    last = max(r["stage"] for r in rows)
    out = []
    for r in rows:
        if r["stage"] == last and r.get("is_significant") and r["rate"] < r["target_share"]:
            gap = r["rate"] - r["target_share"]
            out.append(Finding(page, section, f"{topic}, {last}", str(r["group"]), "share", r["rate"],
                               r.get("ci_low"), r.get("ci_high"), r.get("p_value"),
                               f"target missed: {100 * -gap:.1f} points below {100 * r['target_share']:.1f}%", rank=(0, r.get("p_value") if r.get("p_value") is not None else 1.0,
                                                   gap)))
    return out


def _stride(frame: pl.DataFrame | None) -> list[Finding]:
    out = []
    for r in _rows(frame):
        red, overdue = r.get("rag_status") == "R", r.get("n_milestones_overdue") or 0
        if not (red or overdue):
            continue
        parts = ["Red"] if red else []
        if overdue:
            parts.append(f"{overdue} milestone{'s' if overdue != 1 else ''} overdue")
        out.append(Finding("stride", "stride-status", f"STRIDE {r['commitment_id']}",
                           str(r.get("commitment") or ""), "% complete", _pct(r.get("percent_complete")),
                           None, None, None, ", ".join(parts), lead=r.get("senior_lead"),
                           rank=(1, 0 if red else 1, -overdue, str(r["commitment_id"]))))
    return out


def _iopc(frame: pl.DataFrame | None) -> list[Finding]:
    out = []
    for r in _rows(frame):
        overdue = r.get("n_milestones_overdue") or 0
        if not overdue:
            continue
        red = r.get("rag_status") == "R"
        verdict = f"{overdue} milestone{'s' if overdue != 1 else ''} overdue" + (", Red" if red else "")
        out.append(Finding("stride", "iopc-status",
                           f"IOPC {r['recommendation_id']}, action {r['action_id']}",
                           str(r.get("action") or ""), "% complete", _pct(r.get("percent_complete")), None, None,
                           None, verdict, lead=r.get("senior_lead"),
                           rank=(1, 0 if red else 1, -overdue, str(r["action_id"]))))
    return out


def needs_action(tables: Mapping[str, pl.DataFrame | None], area_names: Mapping[str, str] | None = None
                 ) -> list[Finding]:
    """Every significant adverse finding in these tables (any may be missing or None), ranked by evidence."""
    t = tables.get
    found = [
        *_higher(t("misconduct_rates"), page="misconduct", section="misconduct-rates",
                 topic="Misconduct referral rate", measure="rate ratio",
                 verdict="higher rate, significant"),
        *_higher(t("misconduct_adjusted"), page="misconduct", section="misconduct-adjusted",
                 topic="Misconduct referrals, adjusted", measure="rate ratio",
                 verdict="higher rate, significant"),
        *_higher(t("misconduct_stages"), page="misconduct", section="misconduct-stages",
                 topic="Misconduct decision point:", stage_words="", measure="relative rate index",
                 verdict="more likely to reach it, significant"),
        *_lower(t("grievance_upheld_adjusted"), page="grievances", section="grievance-upheld-adjusted",
                topic="Grievances upheld, adjusted", measure="odds ratio",
                verdict="less likely upheld, significant"),
        *_lower(t("acting_up"), page="acting_up", section="acting-up", topic="Acting-up selection",
                measure="impact ratio", verdict="fails the four-fifths rule (significant)",
                four_fifths=True),
        *_lower(t("recruitment_funnel"), page="recruitment", section="recruitment-funnel",
                topic="Recruitment", measure="impact ratio",
                verdict="fails the four-fifths rule (significant)", four_fifths=True),
        *_funnel(t("grievance_funnel"), area_names or {}, page="grievances", section="grievance-funnel",
                 topic="Grievance rate by area"),
        *_target(t("representation"), page="recruitment", section="representation",
                 topic="Officer representation"),
        *_target(t("recruit_share"), page="recruitment", section="recruit-share", topic="Officer joiners"),
        *_stride(t("stride_status")),
        *_iopc(t("iopc_status")),
    ]
    return sorted(found, key=lambda f: f.rank)


NEEDS_ACTION_TABLES = ("misconduct_rates", "misconduct_adjusted", "misconduct_stages", "grievance_upheld_adjusted",
                       "acting_up", "recruitment_funnel", "grievance_funnel", "representation", "recruit_share",
                       "stride_status", "iopc_status")
# Read over every year, whatever the period: the targets' trajectories, and the recruitment funnel,
# whose last year is mostly applications still in progress (pending, so not yet a pass or a fail).
ALL_YEARS_TABLES = ("representation", "recruit_share", "recruitment_funnel")


# ---------------------------------------------------------------------------------------------
# A verdict in plain words for any row of a tidy table (the findings table on every page)
# ---------------------------------------------------------------------------------------------

def verdict(row: Mapping, *, four_fifths: bool = False) -> str:
    """'fails the four-fifths rule', 'higher, significant after adjustment', 'not significant', ..."""
    if row.get("is_reference"):
        return "reference group"
    note = row.get("note") or ""
    if row.get("is_suppressed") or TOO_FEW in note:
        return TOO_FEW
    ratio = row.get("ratio")
    if ratio is None:
        return "no ratio could be estimated"
    significant = bool(row.get("is_significant"))
    if row.get("p_adjusted") is None and row.get("p_value") is not None:
        return "not in the comparison (data quality only)" if row.get("is_not_stated") or \
            row.get("group") == "Not stated" else "no adjusted test"
    if four_fifths:
        below = ratio < FOUR_FIFTHS
        if below and significant:
            return "fails the four-fifths rule (significant)"
        if below:
            return "below four-fifths, not significant"
        return "passes the four-fifths rule" + ("" if not significant else " (significant difference)")
    if not significant:
        return "no significant difference"
    return "higher, significant after adjustment" if ratio > 1 else "lower, significant after adjustment"


def _rows(frame: pl.DataFrame | None) -> list[dict]:
    return [] if frame is None else list(frame.iter_rows(named=True))


def _pct(x) -> float | None:
    return None if x is None else float(x) / 100
