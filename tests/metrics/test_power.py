"""Evidence strength: the smallest ratio detectable at 80% power, pinned to statsmodels' power
functions, the verdicts, the column on every tidy table, and suppression of it with its row."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from metrics.power import detectable_ratio_proportion, detectable_ratio_rate, verdict
from metrics.queries import Filters
from metrics.tables import REGISTRY, TIDY, get_table
from metrics.warehouse import Warehouse


def test_two_proportions_pinned_to_statsmodels():
    # h = NormalIndPower().solve_power(effect_size=None, nobs1=100, alpha=0.05, power=0.8, ratio=2.0,
    #                                  alternative="two-sided") = 0.34312334038649184;
    # ratio = sin(asin(sqrt(0.3)) + h / 2) ** 2 / 0.3 = 1.5527663370717335
    assert detectable_ratio_proportion(100, 200, 0.3)[()] == pytest.approx(1.5527663370717335, rel=1e-5)
    # one sample against a fixed share (ratio=0): 28 Met chief officers against the census 40.2%;
    # NormalIndPower().solve_power(None, nobs1=28, alpha=0.05, power=0.8, ratio=0) = 0.5294492816927888
    assert detectable_ratio_proportion(28, np.inf, 0.4022412847701225)[()] == pytest.approx(1.6489634643235525, rel=1e-5)
    # alpha matters: at 0.01 a bigger ratio is needed
    assert detectable_ratio_proportion(100, 200, 0.3, alpha=0.01)[()] > 1.56
    # nothing up to p1 = 1 is detectable: 5 people against a reference rate of 0.7 (asin(sqrt 0.7) + h/2 > pi/2)
    assert np.isnan(detectable_ratio_proportion(5, 100, 0.7)[()])


def test_two_rates_solve_statsmodels_power_for_80_percent():
    from statsmodels.stats.rates import power_poisson_ratio_2indep

    ratio = detectable_ratio_rate(1000, 5000, 0.01)[()]
    assert ratio == pytest.approx(2.0777006730154097, rel=1e-9)

    def power(r):  # statsmodels.stats.rates.power_poisson_ratio_2indep, two-sided, H0 ratio 1
        return power_poisson_ratio_2indep(rate1=r * 0.01, rate2=0.01, nobs1=1000, nobs_ratio=5, value=1, alpha=0.05,
                                          alternative="two-sided", return_results=False)

    assert power(ratio) == pytest.approx(0.8, abs=1e-9)
    assert power(ratio * 0.99) < 0.8
    # scipy.stats.norm: the same power by hand, Wald test of log(r) with the alternative's variance
    from scipy.stats import norm
    se = math.sqrt(1 / (ratio * 0.01 * 1000) + 1 / (0.01 * 5000))
    z = norm.ppf(0.975)
    by_hand = norm.cdf(math.log(ratio) / se - z) + norm.cdf(-math.log(ratio) / se - z)
    assert by_hand == pytest.approx(0.8, abs=1e-6)
    assert np.isnan(detectable_ratio_rate(0, 5000, 0.01)[()]) and np.isnan(detectable_ratio_rate(1000, 5000, 0)[()])


def test_verdicts():
    assert verdict(1.1, False, 1.4) == "no difference larger than 1.4 is likely"
    assert verdict(0.9, False, 3.04) == "too few to tell: a difference as large as 3.0 could go unseen"
    assert verdict(1.88, True, 1.35) == "a difference: 1.88 times the reference, more than chance would explain"
    assert verdict(1.2, False, None) == "too few to tell: no difference of any size could be detected"
    assert verdict(1.0, False, 2.5, threshold=3) == "no difference larger than 2.5 is likely"


@pytest.fixture(scope="module")
def wh(small_warehouse):
    with Warehouse(small_warehouse) as w:
        yield w


def test_every_comparison_in_every_tidy_table_has_its_evidence(wh):
    for name, spec in REGISTRY.items():
        if spec.disclosure != TIDY:
            continue
        table = get_table(wh, name, Filters())
        assert {"detectable_ratio", "evidence"} <= set(table.columns), name
        with_evidence = table.filter(pl.col("evidence").is_not_null())
        assert with_evidence.filter(pl.col("p_value").is_null()).height == 0, name  # only comparisons
    rates = get_table(wh, "misconduct_rates", Filters())
    white = rates.filter(pl.col("group") == "White").row(0, named=True)
    other = rates.filter(pl.col("group") == "Other").row(0, named=True)
    expected = detectable_ratio_rate(other["exposure"], white["exposure"], white["events"] / white["exposure"])[()]
    assert other["detectable_ratio"] == pytest.approx(expected, rel=1e-12)
    assert white["detectable_ratio"] is None and white["evidence"] is None  # the reference is not compared


def test_planted_effect_too_small_to_see_says_so(wh):
    # planted: discrimination grievances upheld for Black complainants half as often (20% vs 40%);
    # the small sample has too few closed cases to see it, and the table says so
    table = get_table(wh, "grievance_discrimination_outcomes", Filters())
    black = table.filter(pl.col("group") == "Black").row(0, named=True)
    assert not black["is_significant"]
    assert black["evidence"] is None or black["evidence"].startswith("too few to tell")
    # the planted misconduct disparity is large and well measured: a difference, and 1.35 was detectable
    rates = get_table(wh, "misconduct_rates", Filters())
    black = rates.filter(pl.col("group") == "Black").row(0, named=True)
    assert black["evidence"].startswith("a difference: 1.88 times") and black["detectable_ratio"] < 1.4


def test_staff_associations_lose_the_evidence_with_the_counts(wh):
    from metrics.queries import FilterError
    from metrics.release import period_named

    with pytest.raises(FilterError, match="one characteristic at a time"):
        get_table(wh, "grievance_outcomes", Filters(characteristic="sex,disability"), role="staff_association")
    fy = period_named(wh, "FY2025/26")
    table = get_table(wh, "misconduct_rates", fy.filters, role="staff_association")
    shown = table.filter(~pl.col("is_suppressed") & pl.col("p_value").is_not_null())
    assert shown["detectable_ratio"].null_count() == 0  # every compared row shown carries it
    hidden = table.filter(pl.col("is_suppressed"))
    assert hidden.height and hidden["detectable_ratio"].null_count() == hidden.height
    assert hidden["evidence"].null_count() == hidden.height
