"""rates.exposure_rate_table: events per person-year, pinned to scipy's exact tests."""

from __future__ import annotations

import polars as pl
import pytest
from scipy import stats

from metrics.rates import exposure_rate_table
from metrics.tidy import validate_tidy


def exposure(rows):
    return pl.DataFrame(rows, schema={"group": pl.String, "events": pl.Int64, "exposure": pl.Float64}, orient="row")


def test_exposure_table_rates_ratio_and_exact_conditional_test():
    table = exposure_rate_table(exposure([("White", 100, 20000.0), ("Black", 40, 4000.5)]),
                                characteristic="ethnicity_group", reference_group="White")
    validate_tidy(table)
    black = {r["group"]: r for r in table.iter_rows(named=True)}["Black"]
    assert black["n"] == 4000 and black["exposure"] == 4000.5
    assert black["rate_per_1000"] == pytest.approx(40 / 4000.5 * 1000)
    assert black["ratio"] == pytest.approx((40 / 4000.5) / (100 / 20000))
    # scipy.stats.binomtest(40, 140, 4000.5 / 24000.5).pvalue = 0.00039216148753328775
    assert black["p_value"] == pytest.approx(0.00039216148753328775, rel=1e-9)
    assert black["method"] == "exact Poisson; log IRR; exact conditional binomial test; Holm"
    assert black["ci_low"] == pytest.approx(stats.chi2.ppf(0.025, 80) / 2 / 4000.5)


def test_exposure_zero_events_group_and_zero_reference():
    rows = {r["group"]: r for r in exposure_rate_table(
        exposure([("White", 100, 20000.0), ("Asian", 0, 3000.0)]), characteristic="e", reference_group="White"
    ).iter_rows(named=True)}
    assert (rows["Asian"]["ratio"], rows["Asian"]["ratio_ci_low"]) == (0.0, 0.0)
    assert rows["Asian"]["ratio_ci_high"] > 0
    # scipy.stats.binomtest(0, 100, 3000 / 23000).pvalue
    assert rows["Asian"]["p_value"] == pytest.approx(stats.binomtest(0, 100, 3000 / 23000).pvalue)
    zero_ref = exposure_rate_table(exposure([("White", 0, 20000.0), ("Black", 4, 3000.0)]),
                                   characteristic="e", reference_group="White").row(1, named=True)
    assert zero_ref["ratio"] is None and "reference group has no events" in zero_ref["method"]


def test_exposure_events_without_exposure_is_an_error():
    with pytest.raises(ValueError, match=r"row 1 \(group 'White'\): 3 events with zero exposure"):
        exposure_rate_table(exposure([("White", 3, 0.0)]), characteristic="e", reference_group="White")


def test_exposure_empty_frame():
    table = exposure_rate_table(exposure([]), characteristic="e", reference_group="White")
    assert table.height == 0 and "rate_per_1000" in table.columns
