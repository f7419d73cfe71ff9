"""significance.py and tidy.py: test chooser, NaN-tolerant adjustment, schema."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats
from tidy_checks import validate_tidy

from metrics.significance import adjust_pvalues, binomtest_pvalues, two_by_two_test
from metrics.tidy import TIDY_COLUMNS, concat_tidy, empty_tidy, tidy_frame


def test_holm_matches_r_p_adjust():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") -> 0.05 0.08 0.09 0.09 0.09
    assert adjust_pvalues([0.01, 0.02, 0.03, 0.04, 0.05], "holm") == pytest.approx([0.05, 0.08, 0.09, 0.09, 0.09])


def test_bh_matches_r_p_adjust():
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "BH") -> 0.05 0.05 0.05 0.05 0.05
    assert adjust_pvalues([0.01, 0.02, 0.03, 0.04, 0.05], "fdr_bh") == pytest.approx([0.05] * 5)
    # R: p.adjust(c(0.001, 0.04, 0.03, 0.2), "BH") -> 0.004 0.05333333 0.05333333 0.2
    assert adjust_pvalues([0.001, 0.04, 0.03, 0.2], "fdr_bh") == pytest.approx([0.004, 0.0533333, 0.0533333, 0.2], rel=1e-5)


def test_adjustment_skips_missing_p_values():
    # The family is the three present p-values: R p.adjust(c(0.01, 0.02, 0.03), "holm") -> 0.03 0.04 0.04
    assert adjust_pvalues([0.01, None, 0.02, float("nan"), 0.03], "holm") == [
        pytest.approx(0.03), None, pytest.approx(0.04), None, pytest.approx(0.04)]
    assert adjust_pvalues([None, None]) == [None, None]
    with pytest.raises(ValueError, match="adjustment must be one of"):
        adjust_pvalues([0.1], "bonferonni")


def test_vectorised_binomial_test_is_scipys_binomtest():
    # every branch of scipy.stats.binomtest(k, n, p).pvalue: k below, at and above n * p, tiny n,
    # the tails, and p near 0 and 1; the same numbers to the last bit
    rng = np.random.default_rng(6)
    n = np.concatenate([rng.integers(1, 12, 300), rng.integers(12, 5000, 300), [1, 1, 4, 4, 10, 10, 200, 200]])
    p = np.concatenate([rng.uniform(0.001, 0.999, 600), [0.5, 0.5, 0.25, 0.25, 0.3, 0.3, 1e-4, 1 - 1e-4]])
    k = np.concatenate([np.minimum(rng.binomial(n[:600], p[:600]) + rng.integers(-4, 5, 600), n[:600]).clip(0),
                        [0, 1, 1, 4, 3, 10, 0, 200]])
    expected = [stats.binomtest(int(a), int(b), float(c)).pvalue for a, b, c in zip(k, n, p, strict=True)]
    assert binomtest_pvalues(k, n, p).tolist() == expected
    # the exact conditional test of the exposure tables: scipy.stats.binomtest(40, 140, 4000.5 / 24000.5)
    assert binomtest_pvalues([40], [140], [4000.5 / 24000.5])[0] == pytest.approx(0.00039216148753328775, rel=1e-12)
    assert binomtest_pvalues([], [], []).shape == (0,)
    with pytest.raises(ValueError, match="needs n >= 1"):
        binomtest_pvalues([3], [2], [0.5])


def test_two_by_two_chooser():
    p, name = two_by_two_test(10, 75, 12, 225)
    assert name == "chi-square"
    assert p == pytest.approx(stats.chi2_contingency([[10, 65], [12, 213]], correction=False).pvalue)
    p, name = two_by_two_test(4, 75, 5, 225)  # expected 75 * 9 / 300 = 2.25 < 5
    assert name == "Fisher exact"
    assert p == pytest.approx(stats.fisher_exact([[4, 71], [5, 220]]).pvalue)
    assert two_by_two_test(0, 0, 3, 10) == (None, "no test (empty group)")


def counts(rows):
    return pl.DataFrame(rows, schema={"group": pl.String, "n": pl.Int64, "events": pl.Int64}, orient="row")


def test_tidy_helpers_enforce_schema_and_order():
    table = tidy_frame([{"characteristic": "sex", "group": "Female", "n": 3, "events": 1, "note": "x"}], ["note"])
    validate_tidy(table)
    assert table.columns == [*TIDY_COLUMNS, "note"]
    with pytest.raises(ValueError, match="unknown column"):
        tidy_frame([{"characteristic": "sex", "colour": "red"}])
    stacked = concat_tidy([table, empty_tidy(["stage"])])
    assert stacked.columns == [*TIDY_COLUMNS, "stage", "note"]
    with pytest.raises(ValueError, match="must start with columns"):
        validate_tidy(table.select(["group", "characteristic"]))


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjustment_agrees_with_statsmodels_multipletests(method):
    from statsmodels.stats.multitest import multipletests

    p = [0.2, 0.001, 0.04, 0.04, 0.7, 0.013, 0.5]
    assert adjust_pvalues(p, method) == pytest.approx(list(multipletests(p, method=method)[1]), rel=1e-12)
