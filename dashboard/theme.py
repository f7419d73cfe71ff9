"""Colours by meaning and human labels: the one place the interface's words and colours live.

The palette is Okabe-Ito (safe for the common colour-vision deficiencies). Meaning is never carried
by colour alone: significance is also in the text and the table beside every chart.
"""

from __future__ import annotations

from metrics.config import AGGREGATE_LABEL, CHARACTERISTICS

# Okabe-Ito
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"

# Colours by meaning (aequitas' REFERENCE / PARITY_FAIL idea).
REFERENCE = GREY
HIGHER_SIGNIFICANT = VERMILLION  # worse than the reference, significant after adjustment
LOWER_SIGNIFICANT = BLUE
NOT_SIGNIFICANT = "#B3B3B3"
SUPPRESSED = LIGHT_GREY
TARGET = BLACK
FORCE = BLUE

RAG = {"R": VERMILLION, "A": ORANGE, "G": GREEN, "C": BLUE}
RAG_LABEL = {"R": "Red", "A": "Amber", "G": "Green", "C": "Complete"}

# Fixed colours for the five ethnic groups so every chart agrees.
GROUP_COLOURS = {
    "White": GREY,
    "Asian": ORANGE,
    "Black": VERMILLION,
    "Mixed": PURPLE,
    "Other": GREEN,
    "Not stated": LIGHT_GREY,
    AGGREGATE_LABEL: BLUE,
    "Female": PURPLE,
    "Male": SKY,
}
SEQUENCE = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK, GREY]

# Human labels for tidy-table columns.
COLUMN_LABELS = {
    "characteristic": "Characteristic",
    "group": "Group",
    "n": "Number",
    "events": "Events",
    "rate": "Rate",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "ratio": "Ratio to reference",
    "ratio_ci_low": "Ratio CI low",
    "ratio_ci_high": "Ratio CI high",
    "p_value": "p (raw)",
    "p_adjusted": "p (adjusted)",
    "is_significant": "Significant after adjustment",
    "is_suppressed": "Suppressed",
    "method": "Method",
    "exposure": "Person-years",
    "rate_per_1000": "Per 1,000 person-years",
    "reference_group": "Reference group",
    "note": "Note",
    "detectable_ratio": "Smallest ratio detectable (80% power)",
    "evidence": "Evidence",
    "census_share": "Population share (2011 Census)",
    "expected": "Expected if representative",
}


def characteristic_label(column: str) -> str:
    if "," in column:  # two crossed: "Ethnic group x Disability"
        return " x ".join(characteristic_label(part.strip()) for part in column.split(","))
    c = CHARACTERISTICS.get(column)
    return c.label if c else column.replace("_", " ").capitalize()


def group_colour(group: str, i: int = 0) -> str:
    return GROUP_COLOURS.get(group, SEQUENCE[i % len(SEQUENCE)])


def significance_colour(ratio: float | None, is_significant: bool | None, is_reference: bool) -> str:
    if is_reference:
        return REFERENCE
    if ratio is None or not is_significant:
        return NOT_SIGNIFICANT
    return HIGHER_SIGNIFICANT if ratio > 1 else LOWER_SIGNIFICANT


def fmt_ratio(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


# Labels for the non-tidy tables' columns (STRIDE, IOPC, SPOC, data quality, funnel, survival).
COLUMN_LABELS.update({
    "stage": "Stage",
    "target_share": "Target",
    "is_adverse_impact": "Below four-fifths",
    "commitment_id": "No.",
    "theme": "Theme",
    "commitment": "Commitment",
    "board_date": "Board date",
    "rag_status": "RAG",
    "previous_rag_status": "Previous RAG",
    "percent_complete": "% complete",
    "percent_change": "Change (points)",
    "milestones_due": "Milestones due",
    "milestones_met": "Milestones met",
    "n_milestones_overdue": "Milestones overdue",
    "senior_lead": "Senior lead",
    "narrative": "Update",
    "recommendation_id": "Recommendation",
    "recommendation": "Recommendation text",
    "action_id": "Action",
    "action": "Action text",
    "business_area_code": "Area code",
    "business_area_name": "Business area",
    "month_start": "Month",
    "n_raised": "Raised",
    "n_closed": "Closed",
    "n_upheld": "Upheld",
    "n_open": "Open at month end",
    "n_open_overdue": "Open beyond 90 days",
    "n_independent_assessor": "Independent assessor",
    "median_days_to_resolve": "Median days to resolve",
    "extract": "Extract",
    "file": "File",
    "rows_read": "Rows read",
    "rows_accepted": "Accepted",
    "rows_quarantined": "Quarantined",
    "n_normalised": "Values normalised",
    "rule": "Rule",
    "column_name": "Column",
    "n_rows": "Rows",
    "source_row": "Row in file",
    "value": "Value",
    "message": "Message",
    "category": "Category",
    "measure": "Measure",
    "median_days": "Median days",
    "median_ci_low": "Median CI low",
    "median_ci_high": "Median CI high",
    "time": "Days since raised",
    "survival": "Share still open",
    "at_risk": "Still open (at risk)",
    "n_events": "Closed that day",
    "size": "Person-years",
    "overall_rate": "Force rate",
    "flag": "Funnel position",
    "n_total": "People",
    "n_not_stated": "Not stated",
    "not_stated_rate": "Share not stated",
})


def column_label(column: str) -> str:
    """The human label of a column; unknown columns get a readable fallback, never a raw name."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    if column.startswith(("lower_", "upper_")):
        side, level = column.split("_", 1)
        return f"{side.capitalize()} {level.replace('_', '.')}% limit"
    return column.replace("_", " ").capitalize()


# Navigation: page titles and the roles that see each page.
PAGE_TITLES = {
    "overview": "Overview",
    "grievances": "Grievances",
    "misconduct": "Misconduct",
    "recruitment": "Recruitment and representation",
    "stride": "STRIDE and recommendations",
    "acting_up": "Acting-up",
    "spoc": "SPOC monthly pack",
    "benchmarks": "Benchmarks",
    "data_quality": "Data quality and methods",
}
ROLE_LABELS = {"board": "Management Board", "staff_association": "Staff association", "analyst": "Analyst"}
