"""rates.exposure_rate_table: events per person-year, pinned to scipy's exact tests."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from tidy_checks import validate_tidy

from metrics.intervals import (
    conditional_rate_test,
    conditional_rate_tests,
    poisson_exact_interval,
    poisson_exact_intervals,
    rate_ratio_intervals,
)
from metrics.rates import exposure_rate_table


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


def _log_irr_interval(e, x, e0, x0):
    """The incidence-rate ratio and its log interval exp(log IRR +/- z sqrt(1/e + 1/e0)), worked out
    here from the formula: no ratio without exposure or reference events; with no events in the
    group, IRR 0, lower 0, and the upper limit with 0.5 added to both counts."""
    z = stats.norm.ppf(0.975)
    if x <= 0 or x0 <= 0 or e0 == 0:
        return None, None, None
    if e == 0:
        return 0.0, 0.0, math.exp(math.log((0.5 / x) / ((e0 + 0.5) / x0)) + z * math.sqrt(1 / 0.5 + 1 / (e0 + 0.5)))
    irr, half = (e / x) / (e0 / x0), z * math.sqrt(1 / e + 1 / e0)
    return irr, irr * math.exp(-half), irr * math.exp(half)


def test_array_statistics_are_the_scalar_ones_row_by_row():
    events = np.array([0, 0, 3, 40, 100, 7, 0, 12])
    exposure = np.array([0.0, 500.0, 2.5, 4000.5, 20000.0, 0.0, 0.0, 310.25])
    ref_events = np.array([100, 100, 0, 100, 100, 5, 0, 9])
    ref_exposure = np.array([20000.0, 20000.0, 300.0, 20000.0, 20000.0, 1000.0, 1000.0, 0.0])
    low, high = poisson_exact_intervals(events, exposure)
    ratio, r_low, r_high, note = rate_ratio_intervals(events, exposure, ref_events, ref_exposure)
    p, name = conditional_rate_tests(events, exposure, ref_events, ref_exposure)

    def nan_to_none(v):
        return None if np.isnan(v) else float(v)

    for i in range(len(events)):
        args = (int(events[i]), float(exposure[i]), int(ref_events[i]), float(ref_exposure[i]))
        assert (nan_to_none(low[i]), nan_to_none(high[i])) == poisson_exact_interval(args[0], args[1])
        if args[1] > 0:  # Garwood: scipy.stats.chi2.ppf(0.025, 2k) / 2 / E, chi2.ppf(0.975, 2k + 2) / 2 / E
            garwood_low = stats.chi2.ppf(0.025, 2 * args[0]) / 2 / args[1] if args[0] else 0.0
            assert (low[i], high[i]) == pytest.approx((garwood_low, stats.chi2.ppf(0.975, 2 * args[0] + 2) / 2 / args[1]))
        if args[1] > 0 and args[3] > 0 and args[0] + args[2] > 0:  # binomtest(a, a + b, E_a / (E_a + E_b))
            assert p[i] == pytest.approx(stats.binomtest(args[0], args[0] + args[2], args[1] / (args[1] + args[3])).pvalue)
        assert (nan_to_none(ratio[i]), nan_to_none(r_low[i]), nan_to_none(r_high[i])) == \
            pytest.approx(_log_irr_interval(*args))
        assert (nan_to_none(p[i]), name[i]) == conditional_rate_test(*args)


def test_by_gives_one_table_per_part_stacked_in_input_order():
    parts = {
        "A01": [("White", 100, 20000.0), ("Black", 40, 4000.5), ("Asian", 0, 3000.0), ("Not stated", 3, 500.0)],
        "A02": [("Black", 2, 300.0), ("White", 0, 1000.0)],  # reference with no events
        "A03": [("Asian", 5, 700.0), ("Mixed", 1, 90.0)],  # no reference row
        "A04": [("White", 12, 2500.0), ("Other", 9, 400.0), ("Mixed", 0, 0.0)],
    }
    frames = [exposure(rows).with_columns(pl.lit(area).alias("business_area_code")) for area, rows in parts.items()]
    combined = exposure_rate_table(pl.concat(frames), characteristic="ethnicity_group", reference_group="White",
                                   by="business_area_code", min_events=2)
    validate_tidy(combined)
    one_by_one = pl.concat([
        exposure_rate_table(f.drop("business_area_code"), characteristic="ethnicity_group", reference_group="White",
                            min_events=2).with_columns(pl.lit(area).alias("business_area_code"))
        for area, f in zip(parts, frames, strict=True)
    ]).select(combined.columns)
    assert combined.equals(one_by_one)
    assert combined.columns.index("business_area_code") == combined.columns.index("method") + 1
    a03 = combined.filter(pl.col("business_area_code") == "A03")
    assert a03["method"].to_list() == ["exact Poisson; reference group 'White' not in table"] * 2


def test_by_errors_name_the_part():
    frame = exposure([("White", 1, 10.0), ("White", 2, 20.0)]).with_columns(business_area_code=pl.Series(["A", "A"]))
    with pytest.raises(ValueError, match="row 2, column 'group': group 'White' appears twice in business_area_code 'A'"):
        exposure_rate_table(frame, characteristic="e", reference_group="White", by="business_area_code")
    ok = frame.with_columns(business_area_code=pl.Series(["A", "B"]))
    assert exposure_rate_table(ok, characteristic="e", reference_group="White", by="business_area_code").height == 2
    with pytest.raises(ValueError, match="by must be a tidy extra column"):
        exposure_rate_table(ok, characteristic="e", reference_group="White", by="area")
    empty = exposure_rate_table(ok.clear(), characteristic="e", reference_group="White", by="business_area_code")
    assert empty.height == 0 and "business_area_code" in empty.columns
