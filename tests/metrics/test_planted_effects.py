"""The pipeline recovers every effect planted in the mps sample (sample_data/README.md) with an
interval that covers the planted size, and flags nothing after adjustment in the no-effects sample.

Both mps warehouses (~46k in post, 10.5 years) are built once per session (tests/conftest.py).
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from metrics.queries import Filters
from metrics.tables import get_table
from metrics.warehouse import Warehouse

FY2016 = Filters(start=date(2016, 4, 1), end=date(2017, 3, 1), worker_type="Police officer")
FY2022_ON = Filters(start=date(2022, 4, 1), end=date(2026, 10, 1), worker_type="Police officer")


@pytest.fixture(scope="module")
def mps(mps_warehouse):
    with Warehouse(mps_warehouse) as wh:
        yield wh


@pytest.fixture(scope="module")
def null(mps_no_effects_warehouse):
    with Warehouse(mps_no_effects_warehouse) as wh:
        yield wh


def row(frame: pl.DataFrame, group: str, stage: str | None = None) -> dict:
    f = frame.filter(pl.col("group") == group)
    if stage is not None:
        f = f.filter(pl.col("stage") == stage)
    assert f.height == 1, (group, stage, frame)
    return f.row(0, named=True)


# About 20 coverage checks run here; a 95% interval misses one in twenty by design, so each check
# widens the reported 95% interval to 99.9% (z 3.29; family-wise miss rate about 2%).
Z95, Z999 = 1.959964, 3.290527


def covers(r: dict, planted: float, low: str = "ratio_ci_low", high: str = "ratio_ci_high",
           estimate: str = "ratio") -> bool:
    """Is `planted` inside the 99.9% interval? Ratios on the log scale, proportions on the linear."""
    import math

    lo, hi, est = r[low], r[high], r[estimate]
    if estimate == "ratio":
        se = (math.log(hi) - math.log(lo)) / (2 * Z95)
        return abs(math.log(est) - math.log(planted)) <= Z999 * se
    se = (hi - lo) / (2 * Z95)
    return abs(est - planted) <= Z999 * se


def covers_rate(r: dict, planted: float) -> bool:
    return covers(r, planted, "ci_low", "ci_high", "rate")


@pytest.mark.parametrize("group", ["Asian", "Black", "Mixed", "Other"])
def test_officer_referral_ratio_was_two_in_2016(mps, group):
    r = row(get_table(mps, "misconduct_adjusted", FY2016), group)
    assert covers(r, 2.0), r
    assert r["is_significant"]


@pytest.mark.parametrize(("group", "planted"), [("Black", 1.8), ("Asian", 1.55), ("Mixed", 1.4), ("Other", 1.5)])
def test_officer_referral_ratio_fell_to_planted_values_from_2022(mps, group, planted):
    r = row(get_table(mps, "misconduct_adjusted", FY2022_ON), group)
    assert covers(r, planted), r


@pytest.mark.parametrize("group", ["Asian", "Mixed", "Other"])
def test_officer_referral_ratio_is_lower_from_2022_than_in_2016(mps, group):
    before = row(get_table(mps, "misconduct_adjusted", FY2016), group)["ratio"]
    after = row(get_table(mps, "misconduct_adjusted", FY2022_ON), group)["ratio"]
    assert after < before


def test_black_subjects_more_often_investigated(mps):
    stages = get_table(mps, "misconduct_stages")
    black = row(stages, "Black", "Investigated")
    assert covers(black, 1.25) and black["is_significant"], black
    for group in ("Asian", "Mixed", "Other"):
        assert not row(stages, group, "Investigated")["is_significant"], group
    later = stages.filter(pl.col("stage").is_in(["Meeting or hearing"]) & (pl.col("group") == "Black"))
    assert not later["is_significant"].any()


def test_black_complainants_discrimination_grievances_upheld_less(mps):
    t = get_table(mps, "grievance_discrimination_outcomes")
    black, white = row(t, "Black"), row(t, "White")
    assert covers_rate(black, 0.20), black
    assert covers_rate(white, 0.40), white
    assert covers(black, 0.5) and black["is_significant"] and "Holm" in black["method"]


def test_north_east_bcu_is_a_funnel_outlier(mps):
    t = get_table(mps, "grievance_funnel")
    ne = row(t, "NE")
    assert ne["flag"] == "alarm" and ne["ratio"] > 1.8, ne
    assert t.filter(pl.col("flag") == "alarm")["group"].to_list() == ["NE"]


def test_black_applicants_fail_four_fifths_at_assessment(mps):
    t = get_table(mps, "recruitment_funnel")
    r = row(t, "Black", "Passed assessment centre")
    assert covers(r, 0.75) and r["is_adverse_impact"] and r["is_significant"], r
    asian = row(t, "Asian", "Passed vetting")
    assert covers(asian, 0.85), asian


def test_black_candidates_fail_four_fifths_for_acting_up(mps):
    t = get_table(mps, "acting_up")
    r = row(t, "Black")
    assert covers(r, 0.70) and r["is_adverse_impact"], r
    assert covers(row(t, "Asian"), 0.84)


def test_recruit_share_rises_from_twelve_to_twenty_five_percent_below_forty(mps):
    t = get_table(mps, "recruit_share").filter(pl.col("group").str.starts_with("Black, Asian"))
    first, last = row(t, t["group"][0], "FY2016/17"), row(t, t["group"][0], "FY2025/26")
    assert covers_rate(first, 0.12), first
    assert covers_rate(last, 0.25), last
    assert last["is_significant"] and last["target_share"] == pytest.approx(0.40)


def test_representation_will_not_reach_28_percent_by_2030(mps):
    p = get_table(mps, "representation_projection")
    assert set(p["reached_label"]) == {"not by 2030"}
    final = p.filter(pl.col("date") == date(2030, 3, 31)).row(0, named=True)
    assert final["share_high"] < 0.28


def test_spoke_only_to_outreach_black_women(mps):
    t = get_table(mps, "outreach", Filters(characteristic="ethnicity_sex"))
    r = row(t, "Black female", "Spoke only to Outreach")
    assert covers_rate(r, 0.27), r


TABLES_WITH_GROUP_TESTS = [
    ("misconduct_adjusted", FY2016), ("misconduct_adjusted", FY2022_ON), ("misconduct_rates", Filters()),
    ("misconduct_stages", Filters()), ("grievance_outcomes", Filters()),
    ("grievance_discrimination_outcomes", Filters()), ("grievance_rates", Filters()),
    ("grievance_rates", Filters(characteristic="sex")), ("grievance_resolution", Filters()),
    ("grievance_upheld_adjusted", Filters()), ("acting_up", Filters()), ("recruitment_funnel", Filters()),
]


@pytest.mark.parametrize(("name", "filters"), TABLES_WITH_GROUP_TESTS)
def test_no_effects_sample_flags_nothing_after_adjustment(null, name, filters):
    t = get_table(null, name, filters)
    flagged = t.filter(pl.col("is_significant"))
    assert flagged.height == 0, flagged.select("group", *(["stage"] if "stage" in t.columns else []),
                                             "ratio", "p_value", "p_adjusted")
    if "is_adverse_impact" in t.columns:
        assert not t.filter(pl.col("is_adverse_impact") & pl.col("is_significant")).height


def test_no_effects_sample_has_no_funnel_alarm(null):
    t = get_table(null, "grievance_funnel")
    assert t.filter(pl.col("flag") == "alarm").height == 0
