"""rates.py: intervals, relative rates and the proportion / exposure tables, pinned to scipy and R."""

from __future__ import annotations

import math

import polars as pl
import pytest
from scipy import stats
from tidy_checks import validate_tidy

from metrics.intervals import (
    katz_relative_rate,
    poisson_exact_interval,
    rate_ratio_intervals,
    wilson_interval,
)
from metrics.rates import not_stated_share, proportion_table
from metrics.tidy import TIDY_COLUMNS, TIDY_SCHEMA


def counts(rows):
    return pl.DataFrame(rows, schema={"group": pl.String, "n": pl.Int64, "events": pl.Int64}, orient="row")


def by_group(table):
    return {r["group"]: r for r in table.iter_rows(named=True)}


# --- intervals ---


def test_wilson_matches_r_prop_test():
    # R: prop.test(81, 263, correct = FALSE)$conf.int -> 0.2553 0.3662
    low, high = wilson_interval(81, 263)
    assert (low, high) == pytest.approx((0.2552885, 0.3662096), abs=1e-6)


def test_wilson_matches_closed_form_at_other_alpha():
    # Closed form: (p + z^2/2n +/- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), z = qnorm(0.995)
    x, n, z = 3, 17, stats.norm.ppf(0.995)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert wilson_interval(x, n, alpha=0.01) == pytest.approx((centre - half, centre + half), rel=1e-12)


def test_wilson_empty_group_is_null():
    assert wilson_interval(0, 0) == (None, None)


def test_garwood_interval_matches_chi_square_quantiles():
    # R: poisson.test(7, 1000)$conf.int -> qchisq(.025, 14)/2/1000, qchisq(.975, 16)/2/1000
    low, high = poisson_exact_interval(7, 1000.0)
    assert low == pytest.approx(stats.chi2.ppf(0.025, 14) / 2 / 1000, rel=1e-12)
    assert high == pytest.approx(stats.chi2.ppf(0.975, 16) / 2 / 1000, rel=1e-12)
    assert (low, high) == pytest.approx((0.0028143, 0.0144227), rel=1e-4)


def test_garwood_zero_events_upper_is_minus_log_alpha_over_two():
    # With 0 events the exact upper limit solves exp(-mu) = 0.025: mu = -ln(0.025) = 3.6889
    assert poisson_exact_interval(0, 100.0) == pytest.approx((0.0, 0.036888794541), rel=1e-9)


# --- relative rates ---


def test_katz_matches_scipy_relative_risk_example():
    # scipy.stats.contingency.relative_risk(10, 75, 12, 225).confidence_interval(0.95)
    #   -> relative_risk 2.5, (1.1261564003469628, 5.549850800541033)
    rr, low, high, note = katz_relative_rate(10, 75, 12, 225)
    assert rr == pytest.approx(2.5)
    assert (low, high) == pytest.approx((1.1261564003469628, 5.549850800541033), rel=1e-12)
    assert note == "Katz log RR"


def test_katz_zero_events_reports_zero_with_haldane_upper_limit():
    # Hand: a=0.5, n1'=41, c=12.5, n0'=226: log RR' = ln((0.5/41)/(12.5/226));
    # se = sqrt(1/0.5 - 1/41 + 1/12.5 - 1/226); upper = exp(log RR' + 1.959964 se)
    rr, low, high, note = katz_relative_rate(0, 40, 12, 225)
    expected = math.exp(math.log((0.5 / 41) / (12.5 / 226))
                        + stats.norm.ppf(0.975) * math.sqrt(1 / 0.5 - 1 / 41 + 1 / 12.5 - 1 / 226))
    assert (rr, low) == (0.0, 0.0)
    assert high == pytest.approx(expected, rel=1e-12)
    assert high == pytest.approx(3.651505, rel=1e-6)
    assert "0.5 added to each cell" in note


def test_rate_ratio_log_interval():
    # IRR = (40/4000)/(100/20000) = 2; CI exp(ln 2 +/- 1.959964 sqrt(1/40 + 1/100))
    irr, low, high = (v[0] for v in rate_ratio_intervals([40], [4000.0], [100], [20000.0])[:3])
    se = math.sqrt(1 / 40 + 1 / 100)
    assert irr == pytest.approx(2.0)
    assert (low, high) == pytest.approx((2 * math.exp(-1.959964 * se), 2 * math.exp(1.959964 * se)), rel=1e-6)


# --- proportion table ---


def test_proportion_table_reproduces_scipy_and_chooses_chi_square():
    table = proportion_table(counts([("White", 225, 12), ("Black", 75, 10)]),
                             characteristic="ethnicity_group", reference_group="White")
    validate_tidy(table)
    black = by_group(table)["Black"]
    assert black["ratio"] == pytest.approx(2.5)
    assert (black["ratio_ci_low"], black["ratio_ci_high"]) == pytest.approx((1.1261564, 5.5498508), rel=1e-6)
    # smallest expected count 75*22/300 = 5.5 >= 5 -> chi-square without continuity correction:
    # scipy.stats.chi2_contingency([[10, 65], [12, 213]], correction=False).pvalue = 0.021355072556958
    assert black["p_value"] == pytest.approx(0.02135507255695866, rel=1e-10)
    assert black["method"] == "Wilson; Katz log RR; chi-square; Holm"
    # one comparison: Holm leaves it unchanged
    assert black["p_adjusted"] == pytest.approx(black["p_value"])
    assert black["is_significant"] is True


def test_chi_square_equals_two_sided_z_test():
    # Pooled two-proportion z test by hand equals the uncorrected chi-square
    table = proportion_table(counts([("White", 225, 12), ("Black", 75, 10)]),
                             characteristic="e", reference_group="White")
    p1, p0, pooled = 10 / 75, 12 / 225, 22 / 300
    z = (p1 - p0) / math.sqrt(pooled * (1 - pooled) * (1 / 75 + 1 / 225))
    assert by_group(table)["Black"]["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)


def test_fisher_used_when_an_expected_count_is_small():
    table = proportion_table(counts([("White", 225, 12), ("Mixed", 3, 1)]),
                             characteristic="e", reference_group="White", min_n=10)
    mixed = by_group(table)["Mixed"]
    # scipy.stats.fisher_exact([[1, 2], [12, 213]]).pvalue = 0.16215690780496916
    assert mixed["p_value"] == pytest.approx(0.16215690780496916, rel=1e-10)
    assert "Fisher exact" in mixed["method"]
    # Katz puts the ratio 6.25 above 1 while Fisher's test is not significant: said in words
    assert mixed["ratio_ci_low"] > 1
    assert mixed["note"] == ("too few to report; the 95% interval excludes 1 but the test does not find a "
                             "significant difference at 0.05: they are computed differently, and the test decides")


def test_holm_and_bh_across_groups_keep_raw_p():
    frame = counts([("White", 1000, 50), ("Black", 200, 20), ("Asian", 300, 21), ("Mixed", 150, 12)])
    holm = by_group(proportion_table(frame, characteristic="e", reference_group="White"))
    bh = by_group(proportion_table(frame, characteristic="e", reference_group="White", adjustment="fdr_bh"))
    raw = sorted(holm[g]["p_value"] for g in ("Black", "Asian", "Mixed"))
    # Holm by hand: p_(i) * (m - i + 1), running max
    expected_holm = [min(1, raw[0] * 3), min(1, max(raw[0] * 3, raw[1] * 2)),
                     min(1, max(raw[0] * 3, raw[1] * 2, raw[2]))]
    got = sorted((holm[g]["p_value"], holm[g]["p_adjusted"]) for g in ("Black", "Asian", "Mixed"))
    assert [a for _, a in got] == pytest.approx(expected_holm)
    # BH by hand: p_(i) * m / i, running min from the top
    expected_bh = [min(raw[0] * 3, raw[1] * 1.5, raw[2]), min(raw[1] * 1.5, raw[2]), raw[2]]
    got_bh = sorted((bh[g]["p_value"], bh[g]["p_adjusted"]) for g in ("Black", "Asian", "Mixed"))
    assert [a for _, a in got_bh] == pytest.approx(expected_bh)
    assert bh["Black"]["method"].endswith("Benjamini-Hochberg")


def test_not_stated_is_shown_but_outside_the_family():
    frame = counts([("White", 500, 25), ("Black", 100, 12), ("Not stated", 40, 4)])
    rows = by_group(proportion_table(frame, characteristic="e", reference_group="White"))
    ns = rows["Not stated"]
    assert ns["rate"] == pytest.approx(0.1) and ns["ratio"] == pytest.approx(2.0)
    assert ns["p_value"] is not None and ns["p_adjusted"] is None and ns["is_significant"] is False
    assert ns["is_not_stated"] is True and "not in the comparison family" in ns["note"]
    # Black is the only member of the family, so its adjusted p equals its raw p
    assert rows["Black"]["p_adjusted"] == pytest.approx(rows["Black"]["p_value"])


def test_not_stated_can_never_be_the_reference():
    with pytest.raises(ValueError, match="never a comparison baseline"):
        proportion_table(counts([("Not stated", 10, 1)]), characteristic="e", reference_group="Not stated")


@pytest.mark.parametrize(
    ("rows", "group", "expected_method"),
    [
        ([("White", 100, 0), ("Black", 50, 5)], "Black", "reference group has no events"),
        ([("White", 0, 0), ("Black", 50, 5)], "Black", "reference group is empty"),
        ([("Black", 50, 5)], "Black", "reference group 'White' not in table"),
        ([("White", 100, 5), ("Black", 0, 0)], "Black", "group is empty"),
    ],
)
def test_undefined_ratios_are_null_with_a_method_note(rows, group, expected_method):
    row = by_group(proportion_table(counts(rows), characteristic="e", reference_group="White"))[group]
    assert row["ratio"] is None and row["ratio_ci_low"] is None
    assert expected_method in row["method"]


def test_group_of_one():
    rows = by_group(proportion_table(counts([("White", 300, 30), ("Other", 1, 1)]),
                                     characteristic="e", reference_group="White"))
    one = rows["Other"]
    # Wilson for 1/1: R prop.test(1, 1, correct=FALSE)$conf.int -> 0.2065493 1.0000000
    assert (one["ci_low"], one["ci_high"]) == pytest.approx((0.2065493, 1.0), abs=1e-6)
    assert one["ratio"] == pytest.approx(10.0)
    # scipy.stats.fisher_exact([[1, 0], [30, 270]]).pvalue = 0.1
    assert one["p_value"] == pytest.approx(stats.fisher_exact([[1, 0], [30, 270]]).pvalue)
    # 1 of 1: Katz alone collapses (1/a - 1/n = 0); with 0.5 added to each cell, R:
    # a<-1.5; n1<-2; c<-30.5; n0<-301; exp(log((a/n1)/(c/n0)) + c(-1,1)*qnorm(.975)*sqrt(1/a-1/n1+1/c-1/n0))
    # -> 3.1071250844 17.6318183190
    assert (one["ratio_ci_low"], one["ratio_ci_high"]) == pytest.approx((3.1071250844, 17.6318183190), rel=1e-9)
    assert "0.5 added to each cell (every case in a group had the outcome)" in one["method"]
    assert one["note"].startswith("too few to report; the 95% interval excludes 1 but the test does not find")


def test_all_not_stated():
    table = proportion_table(counts([("Not stated", 20, 3)]), characteristic="e", reference_group="White")
    row = table.row(0, named=True)
    assert row["rate"] == pytest.approx(0.15) and row["ratio"] is None
    assert "reference group 'White' not in table" in row["method"]


def test_empty_frame_gives_empty_tidy_table():
    table = proportion_table(counts([]), characteristic="e", reference_group="White")
    assert table.height == 0 and table.columns[: len(TIDY_COLUMNS)] == list(TIDY_COLUMNS)
    assert dict(table.schema)["n"] == TIDY_SCHEMA["n"]


def test_bad_input_names_row_and_column():
    with pytest.raises(ValueError, match=r"row 2 \(group 'Black'\), column 'events': 60 events exceed n = 50"):
        proportion_table(counts([("White", 100, 5), ("Black", 50, 60)]), characteristic="e", reference_group="White")
    with pytest.raises(ValueError, match="row 2, column 'group': group 'White' appears twice"):
        proportion_table(counts([("White", 100, 5), ("White", 50, 6)]), characteristic="e", reference_group="White")


def test_not_stated_share():
    frame = counts([("White", 900, 0), ("Black", 60, 0), ("Not stated", 40, 0)])
    table = not_stated_share(frame, characteristic="ethnicity_group")
    validate_tidy(table)
    row = table.row(0, named=True)
    assert (row["group"], row["n"], row["events"], row["rate"]) == ("Not stated", 1000, 40, pytest.approx(0.04))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_interval(40, 1000))
