"""Aggregations over the marts: the counts, exposures and cells each metric table starts from.

Every function takes an open Warehouse and Filters and returns a small polars frame. Values reach
DuckDB only as query parameters; the one identifier that varies (the characteristic column) is
checked against config.CHARACTERISTICS first, so no user text is ever formatted into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import polars as pl

from metrics.config import CHARACTERISTICS
from metrics.warehouse import Warehouse

# Person-time with every characteristic: the time-varying columns of fct_person_time joined to the
# fixed ones in dim_person (kept apart so the mart stays narrow and quick to build). One row per
# stretch of a posting; for exposure over a period use person_time(), which clips each stretch.
PERSON_TIME = """(select pt.*, d.* exclude (person_id, worker_type_code, worker_type)
    from fct_person_time as pt inner join dim_person as d using (person_id))"""

EARLIEST, LATEST = date(1900, 1, 1), date(9999, 12, 31)


class FilterError(ValueError):
    """A filter the user gave cannot be applied (unknown characteristic, area or period)."""


@dataclass(frozen=True)
class Filters:
    """What every page and `eqdash table` can narrow by. Months are first-of-month dates, inclusive."""

    start: date | None = None
    end: date | None = None
    area: str | None = None  # business_area_code
    worker_type: str | None = None  # label, e.g. "Police officer"
    characteristic: str = "ethnicity_group"

    def with_(self, **changes) -> Filters:
        return replace(self, **changes)


def add_months(m: date, k: int) -> date:
    """The first of the month k months after m's month (k may be negative)."""
    y, mo = divmod(m.year * 12 + m.month - 1 + k, 12)
    return date(y, mo + 1, 1)


CROSS = " x "  # between the two groups of a crossed cell: "Black x Disabled"
NOT_STATED = "Not stated"


def characteristic_parts(name: str) -> tuple[str, ...]:
    """The characteristics a breakdown names: one ("sex") or two crossed ("ethnicity_group,disability");
    a FilterError naming the valid ones otherwise."""
    parts = tuple(p.strip() for p in name.split(","))
    for part in parts:
        if part not in CHARACTERISTICS:
            valid = ", ".join(CHARACTERISTICS)
            raise FilterError(f"unknown characteristic '{part}': choose one of {valid}, or two of them "
                              "separated by a comma (e.g. ethnicity_group,disability)")
    if len(parts) > 2:
        raise FilterError(f"'{name}' crosses {len(parts)} characteristics: cross at most two")
    if len(parts) == 2 and parts[0] == parts[1]:
        raise FilterError(f"'{name}' crosses {parts[0]} with itself: choose two different characteristics")
    return parts


def is_crossed(name: str) -> bool:
    return len(characteristic_parts(name)) == 2


def characteristic_column(name: str) -> str:
    """The SQL for a breakdown's group: the mart column of one characteristic, or for two crossed
    their groups joined by CROSS, where a cell with either part not stated is "Not stated" (its own
    row, never the reference, never in an adjustment family, as for one characteristic). Only
    names from config.CHARACTERISTICS reach the SQL."""
    parts = characteristic_parts(name)
    if len(parts) == 1:
        return parts[0]
    a, b = parts
    return (f"(case when {a} = '{NOT_STATED}' or {b} = '{NOT_STATED}' then '{NOT_STATED}' "
            f"else {a} || '{CROSS}' || {b} end)")


def reference_group(name: str) -> str:
    """The reference group of a breakdown: for two crossed, the cell of both references."""
    return CROSS.join(CHARACTERISTICS[p].reference_group for p in characteristic_parts(name))


def where_clause(f: Filters, month_col: str, *, area_col: str | None = "business_area_code",
                 worker_col: str | None = "worker_type") -> tuple[str, dict]:
    """A WHERE clause for the period, area and worker-type filters, and its named parameters
    ($start, $end, $area, $worker_type: the same names in every clause, so two clauses for the
    same filters share one parameter dict)."""
    clauses, params = ["true"], {}
    for value, column, op, name in ((f.start, month_col, ">=", "start"), (f.end, month_col, "<=", "end"),
                                    (f.area, area_col, "=", "area"), (f.worker_type, worker_col, "=", "worker_type")):
        if value is not None and column is not None:
            clauses.append(f"{column} {op} ${name}")
            params[name] = value
    return " and ".join(clauses), params


def last_day(month_start: date) -> date:
    return add_months(month_start, 1) - timedelta(days=1)


def person_time(f: Filters) -> tuple[str, str, dict]:
    """Person-time in the filter's months, area and worker type: (subquery, where, params).

    The subquery has a row per stretch of a posting that overlaps the period, every characteristic,
    and exposure_days clipped to the period; `where` applies the area and worker-type filters.
    Use as f"select ... from {sub} where {where} ..." with the named parameters ($lo, $hi and the
    area and worker type's).
    """
    lo = f.start or EARLIEST
    hi = last_day(f.end) if f.end else LATEST
    sub = f"""(select * replace (date_diff('day', greatest(from_date, $lo::date), least(to_date, $hi::date)) + 1
                                 as exposure_days)
               from {PERSON_TIME} where from_date <= $hi::date and to_date >= $lo::date)"""
    where, params = where_clause(f.with_(start=None, end=None), "from_date")
    return sub, where, {"lo": lo, "hi": hi, **params}


def exposure_by_group(wh: Warehouse, f: Filters) -> pl.DataFrame:
    """Person-years in post per group of the chosen characteristic (exposure for rates)."""
    col = characteristic_column(f.characteristic)
    sub, where, params = person_time(f)
    return wh.query(
        f"""select {col} as "group", (sum(exposure_days) / 365.25)::double as exposure
            from {sub} where {where} group by all order by all""",
        params,
    )


def event_counts(wh: Warehouse, f: Filters, *, table: str, month_col: str) -> pl.DataFrame:
    """Events (rows) per group in a fact table."""
    col = characteristic_column(f.characteristic)
    where, params = where_clause(f, month_col)
    return wh.query(
        f"""select {col} as "group", count(*)::bigint as events
            from {table} where {where} group by all order by all""",
        params,
    )


def rate_cells(wh: Warehouse, f: Filters, *, table: str, month_col: str) -> pl.DataFrame:
    """group, events, exposure: the input of a rate per person-year table."""
    exposure = exposure_by_group(wh, f)
    events = event_counts(wh, f, table=table, month_col=month_col)
    return (
        exposure.join(events, on="group", how="full", coalesce=True)
        .with_columns(pl.col("events").fill_null(0).cast(pl.Int64), pl.col("exposure").fill_null(0.0))
        .sort("group")
    )


def area_rate_cells(wh: Warehouse, f: Filters, *, table: str, month_col: str) -> pl.DataFrame:
    """business_area_code, group, events, exposure for every business area and group, in one
    query: the input of a rate per person-year table with a part per business area. Days are
    summed as integers, so the exposure is exact and equal to exposure_by_group's."""
    col = characteristic_column(f.characteristic)
    sub, where_exposure, params_exposure = person_time(f)
    where_events, params_events = where_clause(f, month_col)
    return wh.query(
        f"""with exposure as (select business_area_code, {col} as "group", sum(exposure_days) as exposure_days
                              from {sub} where {where_exposure} group by all),
            events as (select business_area_code, {col} as "group", count(*) as events
                       from {table} where {where_events} group by all)
            select business_area_code, "group", coalesce(events, 0)::bigint as events,
                   (coalesce(exposure_days, 0) / 365.25)::double as exposure
            from exposure full join events using (business_area_code, "group")
            order by business_area_code, "group" """,
        {**params_exposure, **params_events},
    )


def proportion_cells(wh: Warehouse, f: Filters, *, table: str, month_col: str, denominator: str, numerator: str
                     ) -> pl.DataFrame:
    """group, n, events: rows meeting `denominator`, and of those the ones meeting `numerator`."""
    col = characteristic_column(f.characteristic)
    where, params = where_clause(f, month_col)
    return wh.query(
        f"""select {col} as "group",
                   count(*) filter (where {denominator})::bigint as n,
                   count(*) filter (where {denominator} and {numerator})::bigint as events
            from {table} where {where} group by all having n > 0 order by all""",
        params,
    )


def crosstab_cells(wh: Warehouse, f: Filters, *, table: str, month_col: str, column: str, label: str,
                   condition: str = "true") -> pl.DataFrame:
    """group x category counts (long): group, category, n."""
    col = characteristic_column(f.characteristic)
    where, params = where_clause(f, month_col)
    return wh.query(
        f"""select {col} as "group", {label} as category, count(*)::bigint as n
            from {table} where {where} and {condition} and {column} is not null
            group by all order by all""",
        params,
    )
