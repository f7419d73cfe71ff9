"""The tidy metric-table schema every chart, table and export reads, and helpers to build it.

A tidy table has the fixed columns of TIDY_SCHEMA first, in that order, then any of the named
EXTRA_COLUMNS (also in a fixed order), so two tables from different functions can be stacked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import polars as pl

TIDY_SCHEMA: pl.Schema = pl.Schema(
    {
        "characteristic": pl.String,
        "group": pl.String,
        "n": pl.Int64,  # denominator: people, cases, or person-years rounded
        "events": pl.Int64,
        "rate": pl.Float64,  # events / n, or events per person-year
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "ratio": pl.Float64,  # vs the reference group (relative rate, IRR, OR, impact ratio)
        "ratio_ci_low": pl.Float64,
        "ratio_ci_high": pl.Float64,
        "p_value": pl.Float64,
        "p_adjusted": pl.Float64,
        "is_significant": pl.Boolean,
        "is_suppressed": pl.Boolean,
        "method": pl.String,
    }
)
TIDY_COLUMNS: tuple[str, ...] = tuple(TIDY_SCHEMA.names())

# Extras allowed after the fixed columns; a table carries only those it needs, in this order.
EXTRA_COLUMNS: dict[str, pl.DataType] = {
    "stage": pl.String(),
    "business_area_code": pl.String(),  # tables with a row per business area and group
    "reference_group": pl.String(),
    "exposure": pl.Float64(),  # person-years
    "rate_per_1000": pl.Float64(),
    "target_share": pl.Float64(),
    "is_adverse_impact": pl.Boolean(),
    "is_reference": pl.Boolean(),
    "is_not_stated": pl.Boolean(),
    "overall_rate": pl.Float64(),  # funnel plots: the force-wide rate the limits are drawn around
    "lower_99_8": pl.Float64(),
    "lower_95": pl.Float64(),
    "upper_95": pl.Float64(),
    "upper_99_8": pl.Float64(),
    "flag": pl.String(),  # funnel plots: alarm / alert / within / low alert / low alarm
    "median_days": pl.Float64(),
    "median_ci_low": pl.Float64(),
    "median_ci_high": pl.Float64(),
    "note": pl.String(),  # plain-English caveat, e.g. "too few to report"
    "n_display": pl.String(),
    "events_display": pl.String(),
    "n_pending": pl.Int64(),  # cases or applications not yet decided at this stage (not in n)
    "period_label": pl.String(),  # the period the row covers, partial periods said as such
    "data_date": pl.Date(),  # the extract date: the data run to this day
    # benchmarks (metrics/benchmarks.py): a row per force, year (at 31 March) and rank group
    "force": pl.String(),
    "year": pl.Int64(),
    "rank": pl.String(),
    "census_share": pl.Float64(),
    "expected": pl.Float64(),
    "source": pl.String(),
    # evidence strength (metrics/power.py): the smallest ratio detectable at 80% power, in words
    "detectable_ratio": pl.Float64(),
    "evidence": pl.String(),
}

TOO_FEW = "too few to report"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_span(first: date, last: date) -> str:
    """'Apr-Oct 2026', 'Oct 2018-Mar 2019', 'Jun 2023' (first and last are months, inclusive)."""
    if (first.year, first.month) == (last.year, last.month):
        return f"{_MONTHS[first.month - 1]} {first.year}"
    if first.year == last.year:
        return f"{_MONTHS[first.month - 1]}-{_MONTHS[last.month - 1]} {last.year}"
    return f"{_MONTHS[first.month - 1]} {first.year}-{_MONTHS[last.month - 1]} {last.year}"


def financial_year_label(fy: int, first_month: date, last_month: date, *, last_day: date | None = None,
                         data_date: date | None = None) -> str:
    """A financial year's label that says when it is not a whole year: 'FY2025/26' (April to
    March, every day), 'FY2026/27 to date (Apr-Oct 2026)' (the data end inside it) or
    'FY2018/19 part (Jan-Mar 2019)' (the chosen period cuts it). A part year is never labelled,
    and so never compared, as if it were a whole one.

    last_day: the last day covered (the extract date when the data end mid-month)."""
    base = f"FY{fy}/{(fy + 1) % 100:02d}"
    whole_last = date(fy + 1, 3, 31)
    covered_to = last_day or date(last_month.year + (last_month.month == 12), last_month.month % 12 + 1, 1)
    if last_day is None:
        from datetime import timedelta
        covered_to = covered_to - timedelta(days=1)
    if first_month == date(fy, 4, 1) and covered_to >= whole_last:
        return base
    span = month_span(first_month, last_month)
    if covered_to < whole_last and data_date is not None and covered_to >= data_date and first_month == date(fy, 4, 1):
        if last_day is not None and last_day.day != _days_in_month(last_day):
            span = f"{span}, to {last_day.day} {_MONTHS[last_day.month - 1]}"
        return f"{base} to date ({span})"
    return f"{base} part ({span})"


def _days_in_month(d: date) -> int:
    from calendar import monthrange

    return monthrange(d.year, d.month)[1]


def tidy_frame(rows: Iterable[Mapping[str, Any]], extras: Iterable[str] = ()) -> pl.DataFrame:
    """Build a tidy table from row dicts; missing keys become null, unknown keys are an error."""
    extras = _ordered_extras(extras)
    schema = pl.Schema({**dict(TIDY_SCHEMA), **{e: EXTRA_COLUMNS[e] for e in extras}})
    allowed = set(schema.names())
    records = []
    for i, row in enumerate(rows):
        unknown = set(row) - allowed
        if unknown:
            raise ValueError(f"tidy row {i}: unknown column(s) {sorted(unknown)}")
        records.append({c: _clean(row.get(c)) for c in schema.names()})
    if not records:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(records, schema=schema, orient="row")


def empty_tidy(extras: Iterable[str] = ()) -> pl.DataFrame:
    """An empty tidy table with the schema (what every function returns for an empty input)."""
    return tidy_frame([], extras)


def concat_tidy(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """Stack tidy tables that may carry different extras (missing extras become null)."""
    frames = [f for f in frames]
    extras = _ordered_extras({c for f in frames for c in f.columns[len(TIDY_COLUMNS) :]})
    if not frames:
        return empty_tidy()
    cols = list(TIDY_COLUMNS) + extras
    aligned = [
        f.with_columns(
            [pl.lit(None, dtype=EXTRA_COLUMNS[e]).alias(e) for e in extras if e not in f.columns]
        ).select(cols)
        for f in frames
    ]
    return pl.concat(aligned, how="vertical")


def require_columns(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    """A clear error naming the missing input columns, instead of a polars traceback later."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: input is missing column(s) {missing}; has {frame.columns}")


def _ordered_extras(extras: Iterable[str]) -> list[str]:
    extras = set(extras)
    unknown = extras - set(EXTRA_COLUMNS)
    if unknown:
        raise ValueError(f"unknown extra column(s) {sorted(unknown)}; allowed {list(EXTRA_COLUMNS)}")
    return [e for e in EXTRA_COLUMNS if e in extras]


def _clean(value: Any) -> Any:
    """numpy scalars -> Python; NaN -> null, so 'not computable' is one thing (null), not two."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def order_tidy(frame: pl.DataFrame) -> pl.DataFrame:
    """Put a tidy table's columns in the canonical order (fixed columns, then extras) and dtypes."""
    extras = _ordered_extras(c for c in frame.columns if c not in TIDY_SCHEMA)
    missing = [c for c in TIDY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"tidy table is missing column(s) {missing}")
    return frame.select(
        [pl.col(c).cast(t) for c, t in TIDY_SCHEMA.items()] + [pl.col(e).cast(EXTRA_COLUMNS[e]) for e in extras]
    )
