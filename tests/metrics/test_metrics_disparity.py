"""disparity.py: relative rate index by decision point and four-fifths adverse impact (hand numbers)."""

from __future__ import annotations

import polars as pl
import pytest
from scipy import stats
from tidy_checks import validate_tidy

from metrics.disparity import decision_stage_table, four_fifths_table


def decided(rows):
    """A decision-stage frame: group, stage, n (decided), events (progressed), nothing pending."""
    return pl.DataFrame([(*r, 0) for r in rows], orient="row",
                        schema={"group": pl.String, "stage": pl.String, "n": pl.Int64, "events": pl.Int64,
                                "n_pending": pl.Int64})


# 400 White and 100 Black referrals; 100 and 40 investigated; 20 and 12 to a hearing.
MISCONDUCT = decided([
    ("White", "investigation", 400, 100), ("White", "hearing", 100, 20),
    ("Black", "investigation", 100, 40), ("Black", "hearing", 40, 12),
])
STAGES = ["investigation", "hearing"]


def test_rri_uses_previous_stage_as_denominator():
    table = decision_stage_table(MISCONDUCT, stages=STAGES, characteristic="ethnicity_group", reference_group="White")
    validate_tidy(table)
    rows = {(r["stage"], r["group"]): r for r in table.iter_rows(named=True)}
    # investigation: Black 40/100 = 0.40 vs White 100/400 = 0.25 -> RRI 1.6
    assert rows[("investigation", "Black")]["rate"] == pytest.approx(0.40)
    assert rows[("investigation", "Black")]["ratio"] == pytest.approx(1.6)
    # hearing: Black 12/40 = 0.30 vs White 20/100 = 0.20 -> RRI 1.5
    assert rows[("hearing", "Black")]["ratio"] == pytest.approx(1.5)
    assert rows[("hearing", "Black")]["n"] == 40 and rows[("hearing", "Black")]["events"] == 12
    # test at the hearing stage: scipy.stats.chi2_contingency([[12, 28], [20, 80]], correction=False)
    assert rows[("hearing", "Black")]["p_value"] == pytest.approx(
        stats.chi2_contingency([[12, 28], [20, 80]], correction=False).pvalue)
    assert "relative rate index (Katz log CI)" in rows[("hearing", "Black")]["method"]
    assert set(r["stage"] for r in table.iter_rows(named=True)) == {"investigation", "hearing"}


def test_unknown_stage_is_refused():
    with pytest.raises(ValueError, match=r"value\(s\) \['appeal'\] not in stages"):
        decision_stage_table(decided([("White", "appeal", 1, 0)]), stages=STAGES, characteristic="e",
                             reference_group="White")


def test_group_with_no_progressions_has_ratio_zero():
    frame = decided([("White", "investigation", 50, 10), ("Asian", "investigation", 20, 0)])
    rows = {(r["stage"], r["group"]): r for r in decision_stage_table(
        frame, stages=STAGES[:1], characteristic="e", reference_group="White").iter_rows(named=True)}
    assert rows[("investigation", "Asian")]["events"] == 0 and rows[("investigation", "Asian")]["ratio"] == 0.0


# 1000 White, 400 Black and 300 Asian applicants; 600, 200 and 210 pass the sift; 300, 60 and 105 offered.
RECRUITMENT = decided([
    ("White", "sift", 1000, 600), ("White", "offer", 600, 300),
    ("Black", "sift", 400, 200), ("Black", "offer", 200, 60),
    ("Asian", "sift", 300, 210), ("Asian", "offer", 210, 105),
])


def test_four_fifths_against_reference_group():
    table = decision_stage_table(RECRUITMENT, stages=["sift", "offer"], characteristic="e", reference_group="White",
                                 kind="four-fifths")
    rows = {(r["stage"], r["group"]): r for r in table.iter_rows(named=True)}
    # sift: Black 200/400 = 0.5 vs White 0.6 -> 0.8333 (not adverse); offer: 60/200 = 0.3 vs 0.5 -> 0.6 (adverse)
    assert rows[("sift", "Black")]["ratio"] == pytest.approx(0.5 / 0.6)
    assert rows[("sift", "Black")]["is_adverse_impact"] is False
    assert rows[("offer", "Black")]["ratio"] == pytest.approx(0.6)
    assert rows[("offer", "Black")]["is_adverse_impact"] is True
    assert rows[("offer", "Black")]["is_significant"] is True
    # Asian sift 210/300 = 0.7 vs 0.6 -> 1.1667
    assert rows[("sift", "Asian")]["ratio"] == pytest.approx(0.7 / 0.6)
    assert rows[("sift", "White")]["is_adverse_impact"] is False


def test_four_fifths_against_highest_group():
    sift = RECRUITMENT.filter(pl.col("stage") == "sift").select("group", "n", "events")
    table = four_fifths_table(sift, characteristic="e", reference_group="White", comparator="highest")
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    # highest sift rate is Asian 0.7: White 0.6/0.7 = 0.857, Black 0.5/0.7 = 0.714 (adverse)
    assert {r["reference_group"] for r in rows.values()} == {"Asian"}
    assert rows["White"]["ratio"] == pytest.approx(0.6 / 0.7)
    assert rows["Black"]["ratio"] == pytest.approx(0.5 / 0.7) and rows["Black"]["is_adverse_impact"] is True
    assert "comparator: highest rate" in rows["Black"]["method"]


def test_four_fifths_flag_without_significance_is_visible():
    # 3/10 vs 50/100: ratio 0.6 < 0.8 but Fisher p large: flagged, not significant
    frame = pl.DataFrame({"group": ["White", "Mixed"], "n": [100, 10], "events": [50, 3]})
    row = four_fifths_table(frame, characteristic="e", reference_group="White").row(1, named=True)
    assert row["ratio"] == pytest.approx(0.6)
    assert row["is_adverse_impact"] is True and row["is_significant"] is False
    # scipy.stats.fisher_exact([[3, 7], [50, 50]]).pvalue
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[3, 7], [50, 50]]).pvalue)
