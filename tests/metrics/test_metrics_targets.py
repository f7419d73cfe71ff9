"""targets.py: trajectory interpolation, binomial test vs target, stock-and-flow projection."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from scipy import stats

from metrics.targets import observed_vs_target as share_vs_target
from metrics.targets import project_stock_and_flow, target_share_at

TARGETS = pl.DataFrame({
    "measure": ["OFFICER_REPRESENTATION"] * 2 + ["RECRUIT_SHARE"],
    "target_group": ["BLACK_ASIAN_MIXED_OTHER"] * 3,
    "target_date": [date(2022, 3, 31), date(2030, 3, 31), date(2030, 3, 31)],
    "target_share": [0.16, 0.28, 0.40],
})
KW = {"measure": "OFFICER_REPRESENTATION", "target_group": "BLACK_ASIAN_MIXED_OTHER"}


def test_trajectory_is_linear_between_dates_and_flat_after():
    mid = date(2026, 3, 31)  # 1461 of 2922 days from 2022-03-31 to 2030-03-31: exactly half way
    assert target_share_at(TARGETS, at_date=mid, **KW) == pytest.approx(0.16 + 0.12 * 1461 / 2922)
    assert target_share_at(TARGETS, at_date=date(2031, 1, 1), **KW) == 0.28
    assert target_share_at(TARGETS, at_date=date(2020, 1, 1), **KW) is None
    assert target_share_at(TARGETS, at_date=date(2020, 1, 1), before_first="flat", **KW) == 0.16
    assert [target_share_at(TARGETS, at_date=d, **KW) for d in (date(2022, 3, 31), date(2030, 3, 31))] == [0.16, 0.28]
    with pytest.raises(ValueError, match="no rows for measure 'NOPE'"):
        target_share_at(TARGETS, measure="NOPE", target_group="X", at_date=mid)


def test_share_vs_target_one_sided_binomial():
    observed = pl.DataFrame({"period_date": [date(2020, 3, 31), date(2026, 3, 31)], "n": [30000, 33000],
                             "events": [4500, 7200]})
    rows = share_vs_target(observed, targets=TARGETS, **KW).iter_rows(named=True)
    before, now = list(rows)
    assert before["target_share"] is None and before["p_value"] is None and before["note"] == "no target set at this date"
    target = 0.16 + 0.12 * 1461 / 2922
    assert now["target_share"] == pytest.approx(target)
    # scipy.stats.binomtest(7200, 33000, 0.22, alternative="less").pvalue
    assert now["p_value"] == pytest.approx(stats.binomtest(7200, 33000, target, alternative="less").pvalue)
    assert now["ratio"] == pytest.approx(7200 / 33000 / target)
    assert now["stage"] == "2026-03-31" and now["group"] == "BLACK_ASIAN_MIXED_OTHER"


def test_share_exactly_on_target_is_not_flagged():
    observed = pl.DataFrame({"period_date": [date(2030, 3, 31)], "n": [1000], "events": [280]})
    row = share_vs_target(observed, targets=TARGETS, **KW).row(0, named=True)
    # scipy.stats.binomtest(280, 1000, 0.28, alternative="less").pvalue ~ 0.52
    assert row["p_value"] == pytest.approx(stats.binomtest(280, 1000, 0.28, alternative="less").pvalue)
    assert row["is_significant"] is False


CURRENT = pl.DataFrame({"group": ["Black", "White"], "headcount": [1000, 9000],
                        "joiners": [200, 800], "leavers": [100, 900]})


def test_projection_central_line_by_hand():
    # Whole years from 2028-03-31: Black 1000*0.9 + 200 = 1100, White 9000*0.9 + 800 = 8900 -> 11%;
    # then 1100*0.9 + 200 = 1190, 8900*0.9 + 800 = 8810 -> 11.9%
    p = project_stock_and_flow(CURRENT, target_groups=["Black"], start_date=date(2028, 3, 31), n_sims=500)
    assert p.trajectory["date"].to_list() == [date(2029, 3, 31), date(2030, 3, 31)]
    assert p.trajectory["target_group_share"].to_list() == pytest.approx([0.11, 0.119])
    assert p.trajectory["headcount"].to_list() == pytest.approx([10000, 10000])
    summary = p.summary.row(0, named=True)
    assert summary["reached_label"] == "not by 2030" and summary["reached_date"] is None
    assert summary["joiner_share_now"] == pytest.approx(0.2)
    # Needed joiner share s (two steps, 1000 joiners a year, total stays 10000):
    # Black_end = (900 + 1000 s) * 0.9 + 1000 s = 810 + 1900 s = 0.28 * 10000 -> s = 1990/1900 > 1
    assert summary["joiner_share_needed"] is None
    lo, hi = p.trajectory["share_low"][-1], p.trajectory["share_high"][-1]
    assert lo < 0.119 < hi


def test_projection_needed_share_and_reached_year():
    p = project_stock_and_flow(CURRENT, target_groups=["Black"], start_date=date(2028, 3, 31),
                               target_share=0.115, n_sims=500)
    summary = p.summary.row(0, named=True)
    assert summary["reached_date"] == date(2030, 3, 31)
    # 810 + 1900 s = 1150 -> s = 340/1900
    assert summary["joiner_share_needed"] == pytest.approx(340 / 1900, abs=1e-9)
    scenario = project_stock_and_flow(CURRENT, target_groups=["Black"], start_date=date(2028, 3, 31),
                                      joiner_target_share=340 / 1900, target_share=0.115, n_sims=500)
    assert scenario.trajectory["target_group_share"][-1] == pytest.approx(0.115)


def test_projection_is_deterministic_and_handles_partial_first_year():
    a = project_stock_and_flow(CURRENT, target_groups=["Black"], start_date=date(2026, 10, 31), n_sims=300, seed=7)
    b = project_stock_and_flow(CURRENT, target_groups=["Black"], start_date=date(2026, 10, 31), n_sims=300, seed=7)
    assert a.trajectory.equals(b.trajectory) and a.summary.equals(b.summary)
    assert a.trajectory["date"][0] == date(2027, 3, 31) and a.trajectory.height == 4
    f = 151 / 365  # 2026-10-31 -> 2027-03-31, of the 365 days from 2026-03-31
    black = 1000 * 0.9 ** f + 200 * f
    white = 9000 * 0.9 ** f + 800 * f
    assert a.trajectory["target_group_share"][0] == pytest.approx(black / (black + white))


def test_projection_bad_input():
    bad = CURRENT.with_columns(pl.Series("leavers", [2000, 10]))
    with pytest.raises(ValueError, match="project_stock_and_flow: row 1: leavers exceed headcount"):
        project_stock_and_flow(bad, target_groups=["Black"], start_date=date(2026, 10, 31))


def test_share_vs_target_from_group_counts_keeps_the_five_groups():
    from metrics.targets import share_vs_target as grouped

    counts = pl.DataFrame({
        "financial_year": [2025] * 6, "as_at": [date(2026, 3, 1)] * 6,
        "group": ["Asian", "Black", "Mixed", "Other", "White", "Not stated"],
        "n": [2800, 1300, 1100, 300, 27500, 900],
    })
    table = grouped(counts, TARGETS, measure="OFFICER_REPRESENTATION", aggregate_groups=["Asian", "Black", "Mixed", "Other"],
                    aggregate_label="Black, Asian, Mixed and Other ethnic groups")
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {"Black, Asian, Mixed and Other ethnic groups", "Asian", "Black", "Mixed", "Other", "White"}
    agg = rows["Black, Asian, Mixed and Other ethnic groups"]
    target = 0.16 + 0.12 * (date(2026, 3, 1) - date(2022, 3, 31)).days / 2922
    assert (agg["n"], agg["events"], agg["stage"]) == (33000, 5500, "FY2025/26")  # Not stated left out
    assert agg["target_share"] == pytest.approx(target)
    assert agg["p_value"] == pytest.approx(stats.binomtest(5500, 33000, target, alternative="less").pvalue)
    assert rows["Black"]["rate"] == pytest.approx(1300 / 33000) and rows["Black"]["p_value"] is None


def test_representation_projection_from_flows():
    from metrics.targets import project_representation

    flows = pl.DataFrame({"financial_year": [2027, 2027], "is_aggregate": [True, False],
                          "n_headcount_start": [1000, 9000], "n_joiners": [200, 800],
                          "n_leavers": [100, 900], "n_headcount_end": [1100, 8900]})
    line = project_representation(flows, TARGETS, n_sims=300)
    assert line["date"].to_list() == [date(2028, 3, 31), date(2029, 3, 31), date(2030, 3, 31)]
    assert line["is_projection"].to_list() == [False, True, True]
    # from 1100 / 8900 with 10% leaving: 1100*0.9 + 200 = 1190 (11.9%), then 1190*0.9 + 200 = 1271 (12.71%)
    assert line["target_group_share"].to_list() == pytest.approx([0.11, 0.119, 0.1271])
    assert line["target_share"][-1] == 0.28 and line["reached_label"][0] == "not by 2030"
