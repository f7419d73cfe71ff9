"""survival.py: Kaplan-Meier by hand and the Freireich 6-MP data against R's survival package."""

from __future__ import annotations

import math

import polars as pl
import pytest
from scipy import stats

from metrics.survival import kaplan_meier, km_median, log_rank, median_table

# Freireich et al. (1963) remission times; R: survival::gehan. 1 = relapse, 0 = censored.
MP6 = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP6_STATUS = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
FREIREICH = pl.DataFrame({
    "group": ["6-MP"] * 21 + ["placebo"] * 21,
    "duration_days": [float(t) for t in MP6 + PLACEBO],
    "is_event": [bool(s) for s in MP6_STATUS + [1] * 21],
})


def test_log_rank_matches_r_survdiff():
    # R: survdiff(Surv(time, cens) ~ treat, data = gehan) -> Chisq = 16.8 on 1 df, p = 4.17e-05
    row = log_rank(FREIREICH, characteristic="treatment").row(0, named=True)
    assert row["statistic"] == pytest.approx(16.79, abs=0.01)
    assert row["p_value"] == pytest.approx(4.17e-05, rel=0.01)
    assert row["df"] == 1 and row["method"] == "log-rank"


def test_km_medians_match_r_survfit_loglog():
    # R: survfit(Surv(time, cens) ~ treat, data = gehan, conf.type = "log-log")
    #    6-MP median 23 (0.95LCL 13, UCL NA); control median 8 (4, 11)
    rows = {r["group"]: r for r in km_median(FREIREICH, characteristic="t").iter_rows(named=True)}
    assert (rows["6-MP"]["median_days"], rows["6-MP"]["median_ci_low"], rows["6-MP"]["median_ci_high"]) == (23, 13, None)
    assert (rows["placebo"]["median_days"], rows["placebo"]["median_ci_low"], rows["placebo"]["median_ci_high"]) == (8, 4, 11)
    assert (rows["6-MP"]["n"], rows["6-MP"]["events"]) == (21, 9)


def test_km_curve_product_limit_and_greenwood_loglog_by_hand():
    curve = kaplan_meier(FREIREICH, characteristic="t").filter(pl.col("group") == "6-MP")
    first = curve.row(0, named=True)
    assert (first["time"], first["survival"], first["at_risk"]) == (0.0, 1.0, 21)
    at6 = curve.filter(pl.col("time") == 6).row(0, named=True)
    s = 18 / 21  # product limit: 3 relapses among 21 at risk
    se = s * math.sqrt(3 / (21 * 18))  # Greenwood
    k = stats.norm.ppf(0.975) * se / (s * abs(math.log(s)))
    assert at6["survival"] == pytest.approx(s)
    assert (at6["ci_low"], at6["ci_high"]) == pytest.approx((s ** math.exp(k), s ** math.exp(-k)), rel=1e-9)
    # R summary(survfit(..., conf.type = "log-log")) at t = 6: 0.857 (0.620, 0.952)
    assert (at6["ci_low"], at6["ci_high"]) == pytest.approx((0.620, 0.952), abs=5e-4)
    at7 = curve.filter(pl.col("time") == 7).row(0, named=True)
    assert at7["survival"] == pytest.approx(s * 16 / 17) and at7["at_risk"] == 17  # one censored at 6


def test_small_hand_worked_example_with_censoring():
    # times 1, 2, 2+, 3, 4+, 5 : S(1) = 5/6; S(2) = 5/6 * 4/5 = 2/3; S(3) = 2/3 * 2/3 = 4/9; S(5) = 0
    frame = pl.DataFrame({"group": ["g"] * 6, "duration_days": [1.0, 2, 2, 3, 4, 5],
                          "is_event": [True, True, False, True, False, True]})
    curve = kaplan_meier(frame, characteristic="t")
    assert curve["time"].to_list() == [0, 1, 2, 3, 5]
    assert curve["survival"].to_list() == pytest.approx([1, 5 / 6, 2 / 3, 4 / 9, 0])
    assert curve["at_risk"].to_list() == [6, 6, 5, 3, 1]
    assert curve["ci_low"][-1] is None  # log-log interval undefined at S = 0
    assert km_median(frame, characteristic="t")["median_days"][0] == 3.0  # first time S <= 0.5


def test_all_censored_and_single_group():
    frame = pl.DataFrame({"group": ["a", "a"], "duration_days": [3.0, 5.0], "is_event": [False, False]})
    row = km_median(frame, characteristic="t").row(0, named=True)
    assert row["median_days"] is None and row["method"].startswith("median not reached")
    assert kaplan_meier(frame, characteristic="t").height == 1
    assert log_rank(frame, characteristic="t")["method"][0] == "no test (fewer than two groups)"


def test_median_table_is_tidy_with_log_rank_vs_reference():
    from tidy_checks import validate_tidy

    from metrics.survival import km_curve, median_table

    frame = FREIREICH.rename({"duration_days": "duration"})  # the registry's column name
    table = median_table(frame, characteristic="t", reference_group="placebo")
    validate_tidy(table)
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    assert rows["6-MP"]["median_days"] == 23 and rows["placebo"]["median_ci_high"] == 11
    # two groups: the log-rank against the reference is R's survdiff p = 4.17e-05
    assert rows["6-MP"]["p_value"] == pytest.approx(4.17e-05, rel=0.01)
    assert rows["6-MP"]["p_adjusted"] == pytest.approx(rows["6-MP"]["p_value"])
    assert rows["6-MP"]["rate"] == pytest.approx(9 / 21) and rows["6-MP"]["is_significant"] is True
    assert km_curve(frame).height == kaplan_meier(FREIREICH, characteristic="").height


def test_no_comparable_event_times_gives_no_test_not_an_error():
    """A closes its cases at days 5 and 10; B's cases were all censored by day 2, so no closure
    happened while both groups had cases open: the log-rank variance (sum over event times of
    d*(n_A*n_B/n^2)*(n-d)/(n-1)) is 0 at every event time, since n_B = 0, and the test is undefined.
    A one-month window at the extract date hits this; it used to raise LinAlgError."""
    frame = pl.DataFrame({"group": ["A", "A", "B", "B"], "duration_days": [5.0, 10.0, 1.0, 2.0],
                          "is_event": [True, True, False, False]})
    lr = log_rank(frame, characteristic="ethnicity_group")
    assert lr["p_value"][0] is None
    assert lr["method"][0] == "no test (no case closed while both groups had cases open)"
    table = median_table(frame, characteristic="ethnicity_group", reference_group="B", min_n=1)
    a = table.filter(pl.col("group") == "A").row(0, named=True)
    assert a["p_value"] is None and a["p_adjusted"] is None and a["is_significant"] is False
    assert "no test (no case closed while both groups had cases open)" in a["method"]
