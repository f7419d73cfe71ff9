"""disparity.py: relative rate index by decision point and four-fifths adverse impact (hand numbers)."""

from __future__ import annotations

import polars as pl
import pytest
from scipy import stats

from metrics.disparity import acting_up_adverse_impact, adverse_impact, relative_rate_index
from metrics.tidy import validate_tidy

STAGES = ["referral", "investigation", "hearing"]


def long(rows):
    return pl.DataFrame(rows, schema={"group": pl.String, "stage": pl.String, "n": pl.Int64}, orient="row")


MISCONDUCT = long([
    ("White", "referral", 400), ("White", "investigation", 100), ("White", "hearing", 20),
    ("Black", "referral", 100), ("Black", "investigation", 40), ("Black", "hearing", 12),
])


def test_rri_uses_previous_stage_as_denominator():
    table = relative_rate_index(MISCONDUCT, stages=STAGES, characteristic="ethnicity_group", reference_group="White")
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


def test_rri_rejects_non_nested_stages_and_unknown_stage():
    bad = long([("White", "referral", 10), ("White", "investigation", 11)])
    with pytest.raises(ValueError, match="11 at stage 'investigation' exceeds 10 at previous stage 'referral'"):
        relative_rate_index(bad, stages=STAGES, characteristic="e", reference_group="White")
    with pytest.raises(ValueError, match=r"value\(s\) \['appeal'\] not in stages"):
        relative_rate_index(long([("White", "appeal", 1)]), stages=STAGES, characteristic="e", reference_group="White")


def test_missing_stage_row_counts_as_zero():
    frame = long([("White", "referral", 50), ("White", "investigation", 10), ("Asian", "referral", 20)])
    rows = {(r["stage"], r["group"]): r for r in relative_rate_index(
        frame, stages=STAGES[:2], characteristic="e", reference_group="White").iter_rows(named=True)}
    assert rows[("investigation", "Asian")]["events"] == 0 and rows[("investigation", "Asian")]["ratio"] == 0.0


RECRUITMENT = long([
    ("White", "applied", 1000), ("White", "sift", 600), ("White", "offer", 300),
    ("Black", "applied", 400), ("Black", "sift", 200), ("Black", "offer", 60),
    ("Asian", "applied", 300), ("Asian", "sift", 210), ("Asian", "offer", 105),
])


def test_four_fifths_against_reference_group():
    table = adverse_impact(RECRUITMENT, stages=["applied", "sift", "offer"], characteristic="e", reference_group="White")
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
    sift_only = RECRUITMENT.filter(pl.col("stage") != "offer")
    table = adverse_impact(sift_only, stages=["applied", "sift"], characteristic="e", reference_group="White",
                           comparator="highest")
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    # highest sift rate is Asian 0.7: White 0.6/0.7 = 0.857, Black 0.5/0.7 = 0.714 (adverse)
    assert {r["reference_group"] for r in rows.values()} == {"Asian"}
    assert rows["White"]["ratio"] == pytest.approx(0.6 / 0.7)
    assert rows["Black"]["ratio"] == pytest.approx(0.5 / 0.7) and rows["Black"]["is_adverse_impact"] is True
    assert "comparator: highest rate" in rows["Black"]["method"]


def test_four_fifths_flag_without_significance_is_visible():
    # 3/10 vs 50/100: ratio 0.6 < 0.8 but Fisher p large: flagged, not significant
    frame = pl.DataFrame({"group": ["White", "Mixed"], "n_eligible": [100, 10], "n_selected": [50, 3]})
    row = acting_up_adverse_impact(frame, characteristic="e", reference_group="White").row(1, named=True)
    assert row["stage"] == "acting_up" and row["ratio"] == pytest.approx(0.6)
    assert row["is_adverse_impact"] is True and row["is_significant"] is False
    # scipy.stats.fisher_exact([[3, 7], [50, 50]]).pvalue
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[3, 7], [50, 50]]).pvalue)
