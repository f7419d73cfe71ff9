"""The Board's needs-action list and the plain-words verdicts, on hand-made tables and at mps."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from metrics import findings


def tidy(rows, **extra):
    base = {"characteristic": "ethnicity_group", "is_reference": False, "is_not_stated": False,
            "is_suppressed": False, "note": None, "ratio_ci_low": None, "ratio_ci_high": None, "p_value": None,
            "p_adjusted": None, "is_significant": False, "rate": None}
    return pl.DataFrame([{**base, **extra, **r} for r in rows])


def test_only_significant_adverse_rows_are_findings_ranked_by_adjusted_p():
    tables = {
        "misconduct_rates": tidy([
            {"group": "White", "ratio": 1.0, "is_reference": True},
            {"group": "Black", "ratio": 1.79, "ratio_ci_low": 1.51, "ratio_ci_high": 2.12, "p_adjusted": 1.7e-9,
             "is_significant": True},
            {"group": "Asian", "ratio": 0.6, "p_adjusted": 1e-6, "is_significant": True},  # lower: not adverse
            {"group": "Other", "ratio": 1.32, "p_adjusted": 0.062},  # not significant
            {"group": "Not stated", "ratio": 3.0, "is_not_stated": True, "p_value": 1e-9},
        ]),
        "acting_up": tidy([
            {"group": "Black", "ratio": 0.70, "ratio_ci_low": 0.54, "ratio_ci_high": 0.91, "p_adjusted": 0.0075,
             "is_significant": True},
            {"group": "Asian", "ratio": 0.82, "p_adjusted": 0.001, "is_significant": True},  # passes 4/5
            {"group": "Mixed", "ratio": 0.5, "p_adjusted": 0.3},  # below 4/5, not significant
            {"group": "Other", "is_suppressed": True, "ratio": None, "note": "too few to report"},
        ]),
        "grievance_funnel": pl.DataFrame({"group": ["NE", "SW"], "flag": ["alarm", "alert"],
                                          "rate": [0.018, 0.012], "rate_per_1000": [18.2, 12.0]}),
        "stride_status": pl.DataFrame({"commitment_id": [9, 11, 3], "commitment": ["Nine", "Eleven", "Three"],
                                       "rag_status": ["A", "R", "G"], "n_milestones_overdue": [1, 5, 0],
                                       "percent_complete": [76, 76, 100], "senior_lead": ["CPO", "DPS", "X"]}),
        "iopc_status": pl.DataFrame({"recommendation_id": [2, 3], "action_id": ["R02-02", "R03-01"],
                                     "action": ["Recruit assessors", "Done"], "rag_status": ["R", "C"],
                                     "n_milestones_overdue": [5, 0], "percent_complete": [33, 100],
                                     "senior_lead": ["DPS", "CPO"]}),
    }
    found = findings.needs_action(tables, {"NE": "North East"})
    assert [(f.topic, f.group, f.verdict, f.lead) for f in found] == [
        ("Misconduct referral rate", "Black", "higher rate, significant", None),
        ("Grievance rate by area", "North East", "above the 99.8% funnel limit", None),
        ("Acting-up selection", "Black", "fails the four-fifths rule (significant)", None),
        ("STRIDE 11", "Eleven", "Red, 5 milestones overdue", "DPS"),
        ("IOPC 2, action R02-02", "Recruit assessors", "5 milestones overdue, Red", "DPS"),
        ("STRIDE 9", "Nine", "1 milestone overdue", "CPO"),
    ]
    assert [(f.page, f.section) for f in found][:3] == [("misconduct", "misconduct-rates"),
                                                        ("grievances", "grievance-funnel"), ("acting_up", "acting-up")]
    acting = found[2]
    assert (acting.value, acting.ci_low, acting.ci_high, acting.p) == (0.70, 0.54, 0.91, 0.0075)


def test_a_target_is_missed_only_when_significantly_below_in_the_latest_year():
    rows = [
        {"stage": "FY2024/25", "group": "Agg", "rate": 0.10, "target_share": 0.20, "p_value": 1e-5, "is_significant": True,
         "ci_low": 0.09, "ci_high": 0.11, "ratio": None},
        {"stage": "FY2025/26", "group": "Agg", "rate": 0.163, "target_share": 0.228, "p_value": 1e-20,
         "is_significant": True, "ci_low": 0.159, "ci_high": 0.167, "ratio": None},
    ]
    found = findings.needs_action({"representation": tidy(rows)})
    assert [(f.topic, f.verdict) for f in found] == [
        ("Officer representation, FY2025/26", "target missed: 6.5 points below 22.8%")]
    rows[1]["is_significant"] = False
    assert findings.needs_action({"representation": tidy(rows)}) == []


@pytest.mark.parametrize(("row", "four_fifths", "words"), [
    ({"ratio": 0.70, "is_significant": True, "p_adjusted": 0.0075}, True, "fails the four-fifths rule (significant)"),
    ({"ratio": 0.70, "is_significant": False, "p_adjusted": 0.2}, True, "below four-fifths, not significant"),
    ({"ratio": 0.95, "is_significant": False, "p_adjusted": 0.9}, True, "passes the four-fifths rule"),
    ({"ratio": 1.8, "is_significant": True, "p_adjusted": 1e-9}, False, "higher, significant after adjustment"),
    ({"ratio": 0.5, "is_significant": True, "p_adjusted": 1e-3}, False, "lower, significant after adjustment"),
    ({"ratio": 1.3, "is_significant": False, "p_adjusted": 0.06}, False, "no significant difference"),
    ({"ratio": 1.0, "is_reference": True}, False, "reference group"),
    ({"ratio": None, "is_suppressed": True}, False, "too few to report"),
    ({"ratio": 1.2, "is_not_stated": True, "p_value": 0.3}, False, "not in the comparison (data quality only)"),
])
def test_verdict_in_plain_words(row, four_fifths, words):
    assert findings.verdict({"group": "G", **row}, four_fifths=four_fifths) == words


def test_mps_board_needs_action_names_every_red_flag(mps_warehouse):
    """The flags the issue found reading mps as the Board, each by name, value and lead."""
    from metrics.queries import Filters
    from metrics.tables import get_table
    from metrics.warehouse import Warehouse

    with Warehouse(mps_warehouse) as wh:
        months = sorted(wh.table("dim_calendar")["month_start"].to_list())
        f = Filters(start=months[-12], end=months[-1], characteristic="ethnicity_group")
        assert months[-1] == date(2026, 10, 1)
        tables = {n: get_table(wh, n, f.with_(start=None, end=None) if n in findings.ALL_YEARS_TABLES else f,
                               role="board") for n in findings.NEEDS_ACTION_TABLES}
        areas = dict(wh.table("stg_business_areas").select("business_area_code", "business_area_name").iter_rows())
    found = findings.needs_action(tables, areas)
    by = {(f.topic, f.group): f for f in found}
    acting = by[("Acting-up selection", "Black")]
    assert round(acting.value, 2) == 0.70 and acting.verdict.startswith("fails the four-fifths rule")
    centre = by[("Recruitment: Passed assessment centre", "Black")]
    assert round(centre.value, 2) == 0.77 and centre.p < 0.001  # every year's decided applications
    assert ("Grievance rate by area", "North East") in by
    stride = [f for f in found if f.topic == "STRIDE 11"]
    assert [(f.verdict, f.lead) for f in stride] == [("Red, 5 milestones overdue", "Director of Professional Standards")]
    iopc = sorted(f.topic.rsplit(" ", 1)[-1] for f in found if f.topic.startswith("IOPC"))
    assert iopc == ["R02-02", "R03-02", "R11-01", "R13-01", "R15-03"]
    assert {f.group for f in found if f.topic == "Misconduct referral rate"} == {
        "Black", "Asian", "Mixed"}
    assert len(found) == 19
    ps = [f.p for f in found if f.rank[0] == 0]
    assert ps == sorted(ps, key=lambda p: 0.002 if p is None else p)  # ranked by evidence
