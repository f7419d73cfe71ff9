"""One number style: the dashboard's tables (charts.format_value), the packs' printed cells
(exports.format.text) and the pages' cards write every measure the same way, from metrics/formats.py."""

from __future__ import annotations

import math
from datetime import date

import pytest

from dashboard import charts
from dashboard.exports.format import text
from metrics import formats


def test_each_measure_has_one_style():
    assert formats.fmt_int(12345.4) == "12,345" and formats.fmt_int(None) == "–"
    assert formats.fmt_days(13.4) == "13" and formats.fmt_days(12.5) == "12"  # Python rounds half to even
    assert formats.fmt_ratio(0.7) == "0.70" and formats.fmt_ratio(1.834) == "1.83"
    assert formats.fmt_pct(0.36) == "36.0%" and formats.fmt_pct(0.356, 0) == "36%"
    assert formats.fmt_rate(12.345) == "12.3" and formats.fmt_rate(1234.56) == "1,234.6"
    assert formats.fmt_p(0.0004) == "< 0.001" and formats.fmt_p(0.012) == "0.012" and formats.fmt_p(0.48) == "0.480"
    assert formats.p_phrase(0.0004) == "p < 0.001" and formats.p_phrase(0.012) == "p = 0.012"
    assert formats.fmt_interval(0.612, 0.8) == "0.61–0.80"
    assert formats.fmt_pct_interval(0.161, 0.1824) == "16.1–18.2%"
    assert formats.fmt_points(-0.0645) == "-6.5 points" and formats.fmt_points(0.02) == "+2.0 points"
    assert formats.fmt_ratio_change(0.456) == "+0.46"
    assert formats.fmt_date(date(2026, 10, 2)) == "2 Oct 2026" and formats.fmt_month(date(2026, 10, 2)) == "Oct 2026"
    for fmt in (formats.fmt_int, formats.fmt_ratio, formats.fmt_pct, formats.fmt_rate, formats.fmt_p,
                formats.fmt_points, formats.fmt_decimal):
        assert fmt(None) == formats.DASH and fmt(math.nan) == formats.DASH, fmt


@pytest.mark.parametrize(("column", "kind", "value", "expected"), [
    ("p_adjusted", "p", 0.0002, "< 0.001"),
    ("p_value", "p", 0.0456, "0.046"),
    ("ratio", "ratio", 1.8349, "1.83"),
    ("rate", "percent", 0.4567, "45.7%"),
    ("rate_per_1000", "rate", 12.3456, "12.3"),
    ("median_days", "days", 41.6, "42"),
    ("exposure", "person_years", 10234.7, "10,235"),
])
def test_dashboard_tables_and_packs_print_the_same(column, kind, value, expected):
    """Before, the pack printed p as "<0.001" and rates per 1,000 to one decimal while the
    dashboard wrote "< 0.001" and two decimals: both now read the one layer."""
    assert charts.format_value(column, value, per_1000=True) == expected
    assert text(value, kind) == expected


def test_a_rate_per_1000_and_its_interval_read_alike_in_the_dashboard():
    import polars as pl

    frame = pl.DataFrame({"group": ["Black"], "n": [1000.0], "events": [12], "rate": [0.012345],
                          "rate_per_1000": [12.345], "ci_low": [0.0101], "ci_high": [0.01449]})
    shown, _ = charts.display_frame(frame, per_1000=True)
    assert shown.row(0) == ("Black", "1,000", "12", "12.3", "10.1", "14.5")
