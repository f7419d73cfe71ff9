"""What a SPOC pack's tables look like to a reader, in every format: one `Sheet` per table with
readable column names, the five ethnic groups always present, rates per 1,000 person-years,
whole days and person-years, and shorthand ([c], [z], [x]) where a number is not shown.

The PDF, the spreadsheets (XLSX, ODS), the CSV files and the dashboard's preview all draw these
sheets, so they show the same cells. Nothing here decides what is protected: a hidden count is
whatever metrics returned as hidden, shown with the display text metrics gave it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from metrics.spoc import (
    ETHNIC_GROUPS,
    FORCE,
    FUNNEL_WORDS,
    MEASURE_LABELS,
    MEASURES,
    RELEASE_STATEMENT,
    PackTable,
    SpocPack,
)

SIGNIFICANT_DIGITS = 12
CONTACT = "Workforce equality analytics (Professional Standards), with this area's grievance SPOC"

# Shorthand, as the Government Analysis Function's spreadsheet guidance recommends.
HIDDEN, NOT_APPLICABLE, NOT_AVAILABLE = "[c]", "[z]", "[x]"


def shorthand_legend(threshold: int) -> list[tuple[str, str]]:
    return [
        (HIDDEN, f"confidential: a count of 1 to {threshold - 1}, or a count hidden so that a small count cannot be "
                 "worked out from the others (counts in breakdowns are rounded to the nearest 5; totals with no "
                 "breakdown are exact)"),
        (NOT_APPLICABLE, "not applicable (for example, a group compared with itself)"),
        (NOT_AVAILABLE, "not available (for example, no test is possible or fewer than half have closed)"),
    ]


@dataclass(frozen=True)
class Column:
    label: str
    kind: str  # text | month | count | number1 | percent | ratio | p | days | person_years


@dataclass(frozen=True)
class Sheet:
    key: str  # CSV file stem
    name: str  # spreadsheet tab: readable, at most 31 characters
    title: str  # names the measure and the characteristic, with the period
    description: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]

    def column(self, label: str) -> list[Any]:
        j = [c.label for c in self.columns].index(label)
        return [r[j] for r in self.rows]


def stable(x: float) -> float:
    """Floats to 12 significant digits: DuckDB's parallel float sums (person-years) can differ in
    the last bit between runs, and a pack must be the same bytes run to run."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, SIGNIFICANT_DIGITS - 1 - int(math.floor(math.log10(abs(x)))))


def _num(v, *, scale: float = 1.0, whole: bool = False, missing: str = NOT_AVAILABLE):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return missing
    v = v * scale
    return int(round(v)) if whole else stable(float(v))


def _count(row: dict, column: str):
    """A count as a reader sees it: the number, or the display text metrics gave a hidden one."""
    v = row.get(column)
    if v is not None:
        return int(v)
    return row.get(f"{column}_display") or row.get("value_display") or HIDDEN


def sheets(pack: SpocPack) -> list[Sheet]:
    """Every table of the pack, in reading order (findings first)."""
    out = [_findings(pack), _counts(pack.table("counts"))]
    for c in ("ethnicity_group", "sex", "disability"):
        out.append(_rates(pack.table(f"raised_by_{c}"), f"Raised by {_WORD[c]}", f"raised_by_{c}",
                          "Grievances raised", include_force=pack.area_code != FORCE))
    for c in ("ethnicity_group", "sex", "disability"):
        out.append(_shares(pack.table(f"upheld_by_{c}"), f"Upheld by {_WORD[c]}", f"upheld_by_{c}",
                           "Closed in the 12 months", "Upheld", "Upheld (%)"))
    out.append(_crosstab(pack.table("categories"), "Raised by category", "Category"))
    out.append(_crosstab(pack.table("outcomes"), "Closed by outcome", "Outcome"))
    out.append(_resolution(pack.table("time_to_resolve"), pack))
    out.append(_shares(pack.table("independent_assessor"), "Independent assessor", "independent_assessor",
                       "Raised in the 12 months", "With an independent assessor", "Independent assessor (%)"))
    out.append(_funnel(pack.table("funnel"), pack.area_names))
    out.append(_rates(pack.table("misconduct_referrals"), "Misconduct referrals", "misconduct_referrals",
                      "Misconduct referrals", include_force=False))
    return out


_WORD = {"ethnicity_group": "ethnic group", "sex": "sex", "disability": "disability"}
GROUP_LABEL = {"ethnicity_group": "Ethnic group", "sex": "Sex", "disability": "Disability"}


def _title(t: PackTable) -> str:
    return f"{t.title}, {t.period}"


def _groups(t: PackTable, frame: pl.DataFrame) -> list[str]:
    """The rows' groups: for ethnic group always the five groups and Not stated, in that order."""
    present = [g for g in frame["group"].to_list() if g != "Total"] if frame.height else []
    if t.characteristic == "ethnicity_group":
        return [*ETHNIC_GROUPS, *(g for g in present if g not in ETHNIC_GROUPS)]
    return list(dict.fromkeys(present))


def _findings(pack: SpocPack) -> Sheet:
    cols = (Column("Rank", "count"), Column("Theme", "text"), Column("Finding", "text"), Column("Test", "text"),
            Column("p-value", "p"), Column("Adjusted p-value", "p"))
    rows = tuple((i, f.theme, f.statement, f.test, _num(f.p_value, missing=NOT_APPLICABLE),
                  _num(f.p_adjusted, missing=NOT_APPLICABLE)) for i, f in enumerate(pack.findings, start=1))
    if not rows:
        rows = ((NOT_APPLICABLE, "None", pack.findings_note, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE),)
    return Sheet("findings", "Findings", f"Findings for {pack.area_name}, ranked, {pack.month_label}",
                 pack.findings_note, cols, rows)


def _counts(t: PackTable) -> Sheet:
    frame = t.frame
    months = sorted(frame["month_start"].unique().to_list())
    cell = {(m, k): n for m, k, n in frame.select("month_start", "measure", "n").iter_rows()}
    cols = (Column("Month", "month"), *(Column(MEASURE_LABELS[m], "count") for m in MEASURES))
    rows = tuple((m, *(int(cell[(m, k)]) for k in MEASURES)) for m in months)
    return Sheet("monthly_counts", "Monthly counts", _title(t), t.description, cols, rows)


def _rates(t: PackTable, name: str, key: str, events_label: str, *, include_force: bool) -> Sheet:
    frame = t.frame
    by = {r["group"]: r for r in frame.iter_rows(named=True)}
    force = {r["group"]: r for r in t.force.iter_rows(named=True)} if include_force and t.force is not None else {}
    cols = [Column(GROUP_LABEL.get(t.characteristic, "Group"), "text"), Column("Person-years", "person_years"),
            Column(events_label, "count"), Column("Rate per 1,000 person-years", "number1"),
            Column("Lower 95% limit (per 1,000)", "number1"), Column("Upper 95% limit (per 1,000)", "number1"),
            Column("Rate ratio to reference group", "ratio"), Column("p-value", "p"), Column("Adjusted p-value", "p")]
    if force:
        cols.append(Column("Force rate per 1,000 person-years (same group)", "number1"))
    rows = []
    for g in _groups(t, frame):
        r = by.get(g)
        if r is None:  # no one in post in the group here: nothing to show
            row = [g, 0, 0, *[NOT_AVAILABLE] * 6]
        else:
            hidden = bool(r.get("is_suppressed"))
            miss = HIDDEN if hidden else NOT_AVAILABLE
            ref = bool(r.get("is_reference"))
            row = [g, _num(r.get("exposure"), whole=True, missing=miss), _count(r, "events"),
                   _num(r.get("rate_per_1000"), missing=miss), _num(r.get("ci_low"), scale=1000, missing=miss),
                   _num(r.get("ci_high"), scale=1000, missing=miss),
                   NOT_APPLICABLE if ref else _num(r.get("ratio"), missing=miss),
                   NOT_APPLICABLE if ref else _num(r.get("p_value"), missing=miss),
                   NOT_APPLICABLE if ref else _num(r.get("p_adjusted"), missing=miss)]
        if force:
            f = force.get(g)
            row.append(NOT_AVAILABLE if f is None else
                       _num(f.get("rate_per_1000"), missing=HIDDEN if f.get("is_suppressed") else NOT_AVAILABLE))
        rows.append(tuple(row))
    return Sheet(key, name, _title(t), t.description, tuple(cols), tuple(rows))


def _shares(t: PackTable, name: str, key: str, n_label: str, events_label: str, share_label: str) -> Sheet:
    frame = t.frame
    by = {r["group"]: r for r in frame.iter_rows(named=True)}
    cols = (Column(GROUP_LABEL.get(t.characteristic, "Group"), "text"), Column(n_label, "count"),
            Column(events_label, "count"), Column(share_label, "percent"), Column("Lower 95% limit (%)", "percent"),
            Column("Upper 95% limit (%)", "percent"), Column("Ratio to reference group", "ratio"),
            Column("p-value", "p"), Column("Adjusted p-value", "p"))
    rows = []
    for g in _groups(t, frame):
        r = by.get(g)
        if r is None:  # no grievances from the group in the period
            rows.append((g, 0, 0, *[NOT_AVAILABLE] * 6))
            continue
        miss = HIDDEN if r.get("is_suppressed") else NOT_AVAILABLE
        ref = bool(r.get("is_reference"))
        rows.append((g, _count(r, "n"), _count(r, "events"), _num(r.get("rate"), missing=miss),
                     _num(r.get("ci_low"), missing=miss), _num(r.get("ci_high"), missing=miss),
                     NOT_APPLICABLE if ref else _num(r.get("ratio"), missing=miss),
                     NOT_APPLICABLE if ref else _num(r.get("p_value"), missing=miss),
                     NOT_APPLICABLE if ref else _num(r.get("p_adjusted"), missing=miss)))
    return Sheet(key, name, _title(t), t.description, cols, tuple(rows))


def _crosstab(t: PackTable, name: str, first: str) -> Sheet:
    """Category rows x group columns (the five ethnic groups always), totals last."""
    frame = t.frame
    groups = [*_groups(t, frame), "Total"]
    cats = [c for c in dict.fromkeys(frame["category"].to_list()) if c != "Total"] if frame.height else []
    cats.append("Total")
    cell = {(g, c): (n, d) for g, c, n, d in frame.select("group", "category", "n", "value_display").iter_rows()}

    def value(g, c):
        if (g, c) not in cell:
            return 0  # no grievance in that cell
        n, d = cell[(g, c)]
        return int(n) if n is not None else (d or HIDDEN)

    cols = (Column(first, "text"), *(Column(g, "count") for g in groups))
    rows = tuple((c, *(value(g, c) for g in groups)) for c in cats)
    return Sheet(t.key, name, _title(t), t.description, cols, rows)


def _resolution(t: PackTable, pack: SpocPack) -> Sheet:
    cols = (Column("Where", "text"), Column("Raised in the 12 months", "count"),
            Column("Of those, closed by the data date", "count"), Column("Median days to resolve", "days"),
            Column("Lower 95% limit (days)", "days"), Column("Upper 95% limit (days)", "days"),
            Column("p-value against the rest of the force", "p"))
    names = {"This area": pack.area_name, "Force": "Whole force"}
    rows = []
    for r in t.frame.iter_rows(named=True):
        miss = HIDDEN if r["is_suppressed"] else NOT_AVAILABLE
        rows.append((names.get(r["group"], r["group"]), _count(r, "n"), _count(r, "events"),
                     _num(r["median_days"], whole=True, missing=miss), _num(r["median_ci_low"], whole=True, missing=miss),
                     _num(r["median_ci_high"], whole=True, missing=miss),
                     NOT_APPLICABLE if r["group"] == "Force" else _num(r["p_value"], missing=miss)))
    return Sheet("time_to_resolve", "Days to resolve", _title(t), t.description, cols, tuple(rows))


def _funnel(t: PackTable, names: dict[str, str]) -> Sheet:
    """Every business area, smallest first (the funnel chart's x order)."""
    frame = t.frame
    cols = (Column("Business area", "text"), Column("Code", "text"), Column("Person-years", "person_years"), Column("Grievances raised", "count"),
            Column("Rate per 1,000 person-years", "number1"), Column("Force rate per 1,000 person-years", "number1"),
            Column("Lower 99.8% limit (per 1,000)", "number1"), Column("Lower 95% limit (per 1,000)", "number1"),
            Column("Upper 95% limit (per 1,000)", "number1"), Column("Upper 99.8% limit (per 1,000)", "number1"),
            Column("Position against the force", "text"))
    rows = []
    if frame.height and "exposure" in frame.columns:
        for r in frame.sort("exposure", "group", nulls_last=True).iter_rows(named=True):
            miss = HIDDEN if r.get("is_suppressed") else NOT_AVAILABLE
            flag = r.get("flag")
            rows.append((names.get(r["group"], r["group"]), r["group"], _num(r.get("exposure"), whole=True, missing=miss),
                         _count(r, "events"),
                         _num(r.get("rate_per_1000"), missing=miss), _num(r.get("overall_rate"), scale=1000, missing=miss),
                         *(_num(r.get(c), scale=1000, missing=miss) for c in ("lower_99_8", "lower_95", "upper_95",
                                                                                "upper_99_8")),
                         FUNNEL_WORDS.get(flag, r.get("note") or NOT_AVAILABLE) if flag else (r.get("note") or miss)))
    return Sheet("funnel", "Business areas", _title(t), t.description, cols, tuple(rows))


# ------------------------------------------------------------------------------------------------
# Printed text of a cell, and the pack's plain-English notes
# ------------------------------------------------------------------------------------------------


def text(value: Any, kind: str) -> str:
    """How a cell reads in print (PDF, preview): whole days and person-years, one decimal for
    rates, percentages for shares, p-values to three places."""
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.strftime("%b %Y")
    if kind in ("count", "person_years", "days"):
        return f"{int(round(value)):,}"
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "p":
        return "<0.001" if value < 0.001 else f"{value:.3f}"
    if kind == "number1":
        return f"{value:,.1f}"
    return str(value)


def notes(pack: SpocPack) -> list[tuple[str, str]]:
    """Plain-English notes (title, text): definitions, what is exact and what is protected, and how
    each finding is tested. Shared by the PDF's last page and the spreadsheets' Notes sheet."""
    s = pack.settings
    t = s.suppression_threshold
    return [
        ("Raised, closed, open", "Raised in the month: grievances with a raised date in the month. Closed in the "
         "month: grievances with an outcome date in the month, whenever they were raised. Open at month end: raised "
         "by the last day of the month with no outcome by then. Open at month end for more than 90 days: open at "
         f"month end and raised more than {s.service_standard_days} days before it (the service standard)."),
        ("Closed in the 12 months", "The outcome tables count grievances closed in the 12 months, whenever they "
         "were raised. The days-to-resolve table instead follows the grievances raised in the 12 months, and "
         "counts those of them closed by the data date ('of those, closed by the data date')."),
        ("Rates", "Every rate is per 1,000 person-years: one person in post for a whole year is one person-year, "
         "so a rate of 10 means 10 grievances a year for every 1,000 staff."),
        ("Groups", "Ethnic group, sex and disability are the aggrieved person's, as recorded. The five ethnic "
         "groups (Asian, Black, Mixed, Other, White) are always shown, with Not stated as its own group; rates are "
         "compared on stated values. The reference groups are White, men, and staff who are not disabled."),
        ("What is exact and what is protected", RELEASE_STATEMENT + f" A group with fewer than "
         f"{s.min_group_for_ratio} people or cases has no rate, ratio or p-value ('too few to report')."),
        ("Shorthand", "; ".join(f"{k} = {v}" for k, v in shorthand_legend(t)) + "."),
        ("How findings are chosen", "A finding is listed only when a statistical test supports it at the 5% level "
         "after allowing for the number of comparisons made at once (the Holm method). Rates are compared with an "
         "exact test for two rates; shares with Fisher's exact test when numbers are small, otherwise a "
         "chi-square test; the funnel position with an exact Poisson test against the force rate; the trend "
         "with a Poisson regression of the monthly counts on month; this month against the previous 12 with an "
         "exact test; time to resolve with a log-rank test against the rest of the force, and against the "
         "90-day standard by whether the 95% range for the median includes 90 days."),
        ("Ranges", "The lower and upper 95% limits give the range the true figure is likely to lie in. For time "
         "to resolve, grievances still open count by how long they have been open so far (the Kaplan-Meier "
         "method), so an area with many open grievances is not made to look quick."),
        ("Funnel plot", "Each business area's rate is compared with the range the force's own rate would give "
         "an area of that size by chance: 95% and 99.8% limits. Outside the 99.8% limits is very unlikely to be "
         "chance."),
        ("Charts", "The PDF and the Excel workbook carry charts; each chart's numbers are in the table beside "
         "it, and a number not shown in a table is left out of its chart, never drawn as zero. The OpenDocument "
         "spreadsheet has the same tables without charts."),
    ]
