"""Colours by meaning and human labels: the one place the interface's words and colours live.
Numbers are written by metrics/formats.py (the one number style, shared with the sentences).

The palette is Okabe-Ito (safe for the common colour-vision deficiencies). Meaning is never carried
by colour alone: significance is also in the text and the table beside every chart.
"""

from __future__ import annotations

import re

from metrics.config import AGGREGATE_LABEL, CHARACTERISTICS

# Okabe-Ito
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
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
TARGET = BLACK
FORCE = BLUE

RAG = {"R": VERMILLION, "A": ORANGE, "G": GREEN, "C": BLUE}
RAG_LABEL = {"R": "Red", "A": "Amber", "G": "Green", "C": "Complete"}

# Fixed colours for the groups so every chart agrees (group identity only: verdicts are shapes and
# words). No group takes vermillion, the colour of a Red status.
GROUP_COLOURS = {
    "White": GREY,
    "Asian": ORANGE,
    "Black": BLUE,
    "Mixed": PURPLE,
    "Other": GREEN,
    "Not stated": LIGHT_GREY,
    AGGREGATE_LABEL: BLACK,
    "Female": PURPLE,
    "Male": SKY,
}
# Any other group (ages, ranks, ethnicity x sex, ...) takes these in order: Paul Tol's muted
# palette (colour-blind safe), none of which is a fixed group colour above.
SEQUENCE = ["#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
            "#6699CC", "#661100", "#888888"]

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
    """A group's colour: its fixed one, else the i-th of SEQUENCE (unique within a chart of up to
    len(SEQUENCE) other groups)."""
    return GROUP_COLOURS.get(group, SEQUENCE[i % len(SEQUENCE)])


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&\"'=^@])")


def escape_markdown(text: object) -> str:
    """Text from an extract, safe inside st.markdown/st.caption: every Markdown, LaTeX and directive
    character backslash-escaped, so a link or image in it stays literal text (nothing is fetched),
    and line breaks flattened to spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


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


# Per table: the column labels that name the quantity (a count's unit differs from table to table).
TABLE_COLUMN_LABELS: dict[str, dict[str, str]] = {
    "grievance_rates": {"n": "Person-years", "events": "Grievances raised"},
    "misconduct_rates": {"n": "Person-years", "events": "Referrals"},
    "misconduct_adjusted": {"n": "Person-years", "events": "Referrals", "ratio": "Adjusted rate ratio"},
    "misconduct_trend": {"stage": "Financial year", "n": "Person-years", "events": "Referrals", "ratio": "Rate ratio"},
    "misconduct_stages": {"stage": "Decision point", "n": "At the previous stage", "events": "Reached this stage",
                          "ratio": "Relative rate index"},
    "grievance_outcomes": {"n": "Closed grievances", "events": "Upheld (in full or part)"},
    "grievance_discrimination_outcomes": {"n": "Closed discrimination grievances", "events": "Upheld"},
    "grievance_upheld_adjusted": {"n": "Closed grievances", "events": "Upheld", "ratio": "Adjusted odds ratio"},
    "grievance_independent_assessor": {"n": "Grievances", "events": "With an independent assessor"},
    "grievance_resolution": {"n": "Grievances raised", "events": "Closed"},
    "grievance_funnel": {"group": "Area code", "n": "Person-years", "events": "Grievances raised"},
    "acting_up": {"n": "Acting-up decisions", "events": "Selected", "ratio": "Impact ratio"},
    "acting_up_rationale": {"n": "Acting-up decisions", "events": "Rationale recorded"},
    "recruitment_funnel": {"stage": "Recruitment stage", "n": "Applicants at the previous stage",
                           "events": "Passed", "ratio": "Impact ratio"},
    "outreach": {"stage": "Measure", "n": "Applicants", "events": "Applicants counted"},
    "representation": {"stage": "Financial year", "n": "Officers", "events": "Officers in the group",
                       "rate": "Share"},
    "recruit_share": {"stage": "Financial year", "n": "Officer joiners", "events": "Joiners in the group",
                      "rate": "Share"},
    "not_stated": {"n": "People in post"},
}

# What a page says under a section's heading, where the registry's description is written for
# analysts (method names, table names): the reader's words, no internal names.
READER_DESCRIPTIONS: dict[str, str] = {
    "grievance_outcomes": "Share of closed grievances upheld in full or in part, by the aggrieved person's group, "
                          "compared with the reference group.",
    "grievance_discrimination_outcomes": "The same, for grievances about discrimination only (any protected "
                                         "characteristic).",
    "grievance_upheld_adjusted": "The odds of a closed grievance being upheld, by group, after allowing for the "
                                 "kind of grievance (its category).",
    "grievance_resolution_curve": "Share of each group's grievances still open, by days since raised (open "
                                  "grievances count until the extract date).",
    "grievance_resolution": "Median days from a grievance being raised to its outcome, by group; open grievances "
                            "count until the extract date.",
    "misconduct_adjusted": "Misconduct referral rates by group after allowing for rank, length of service and "
                           "business area, as a ratio to the reference group.",
    "misconduct_area_disparity": "For every business area, referrals per 1,000 person-years by group and the "
                                 "ratio to the area's reference group.",
    "misconduct_stages": "Of those at the previous decision point, the share who go on to the next, by group, "
                         "relative to the reference group.",
    "representation": "Share of officers in post at each financial year end from the Black, Asian, Mixed and "
                      "Other ethnic groups (and each group), against the target trajectory (16% by 2022, "
                      "28% by 2030).",
    "recruit_share": "Share of each financial year's officer joiners by ethnic group, against the 40% target.",
    "representation_projection": "Where the share of officers from the Black, Asian, Mixed and Other ethnic groups "
                                 "is heading at the latest year's joiner and leaver rates, with a range.",
    "spoc_trend": "Grievances raised, closed, open at month end and open beyond the 90-day standard, each month "
                  "for the 13 months to the period's last month.",
}


def reader_description(name: str, description: str) -> str:
    return READER_DESCRIPTIONS.get(name, description)
