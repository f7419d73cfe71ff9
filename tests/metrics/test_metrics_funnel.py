"""funnel.py: exact binomial/Poisson control limits with Spiegelhalter's interpolation."""

from __future__ import annotations

import polars as pl
import pytest
from scipy import stats

from metrics.funnel import control_limit, funnel_flags, funnel_limits


def interpolated(dist, p, size):
    # Spiegelhalter (2005): r = F^-1(p); a = (F(r) - p) / (F(r) - F(r - 1)); limit = (r - a) / size
    r = dist.ppf(p)
    a = (dist.cdf(r) - p) / (dist.cdf(r) - dist.cdf(r - 1))
    return (r - a) / size


def test_binomial_limits_by_hand():
    # scipy.stats.binom.ppf(0.975, 100, 0.1) = 16; cdf(16) = 0.97940, cdf(15) = 0.96011
    assert stats.binom.ppf(0.975, 100, 0.1) == 16
    upper = control_limit([100], 0.1, 0.975)[0]
    a = (stats.binom.cdf(16, 100, 0.1) - 0.975) / (stats.binom.cdf(16, 100, 0.1) - stats.binom.cdf(15, 100, 0.1))
    assert upper == pytest.approx((16 - a) / 100, rel=1e-12)
    assert upper == pytest.approx(0.157719, abs=1e-6)
    limits = funnel_limits([100, 1000], overall_rate=0.1).row(1, named=True)
    assert limits["upper_99_8"] == pytest.approx(interpolated(stats.binom(1000, 0.1), 0.999, 1000))
    assert limits["lower_95"] == pytest.approx(interpolated(stats.binom(1000, 0.1), 0.025, 1000))


def test_poisson_limits_by_hand_and_clipped_at_zero():
    limits = funnel_limits([1000.0, 10.0], overall_rate=0.01, kind="rate")
    assert limits["upper_95"][0] == pytest.approx(interpolated(stats.poisson(10), 0.975, 1000))
    assert limits["lower_99_8"][0] == pytest.approx(interpolated(stats.poisson(10), 0.001, 1000))
    assert limits["lower_95"][1] == 0.0  # expected 0.1 events: the lower limit would be negative


def test_flags_and_curve():
    frame = pl.DataFrame({"group": ["a", "b", "c", "d"], "n": [100, 200, 50, 0], "events": [30, 10, 5, 0]})
    flags = {r["group"]: r for r in funnel_flags(frame).iter_rows(named=True)}
    overall = 45 / 350
    assert flags["a"]["overall_rate"] == pytest.approx(overall)
    assert flags["a"]["upper_99_8"] == pytest.approx(interpolated(stats.binom(100, overall), 0.999, 100))
    assert (flags["a"]["flag"], flags["b"]["flag"], flags["c"]["flag"], flags["d"]["flag"]) == (
        "alarm", "low alarm", "within", "no data")
    assert flags["d"]["upper_95"] is None
    # between the 95% and 99.8% upper limits: 'alert'
    alert = pl.DataFrame({"group": ["x"], "n": [100], "events": [18]})
    assert funnel_flags(alert, overall_rate=0.1)["flag"][0] == "alert"


def test_poisson_funnel_tidy_table():
    from tidy_checks import validate_tidy

    from metrics.funnel import poisson_funnel

    cells = pl.DataFrame({"group": ["a", "b", "c"], "exposure": [1000.0, 2000.0, 500.0], "events": [30, 20, 3]})
    table = poisson_funnel(cells, characteristic="business_area_code")
    validate_tidy(table)
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    theta = 53 / 3500
    assert rows["a"]["overall_rate"] == pytest.approx(theta)
    assert rows["a"]["ratio"] == pytest.approx(0.03 / theta)
    # exact test, doubled upper tail: 2 * scipy.stats.poisson.sf(29, 1000 * theta)
    assert rows["a"]["p_value"] == pytest.approx(2 * stats.poisson.sf(29, 1000 * theta))
    assert rows["a"]["upper_99_8"] == pytest.approx(interpolated(stats.poisson(1000 * theta), 0.999, 1000))
    assert rows["a"]["flag"] == "alarm"
