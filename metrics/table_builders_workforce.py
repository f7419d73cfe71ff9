"""Builders of the recruitment, representation, SPOC, data-quality, benchmark and supervision tables
(the grievance and misconduct ones, and the generic builders, are in metrics/table_builders.py)."""

from __future__ import annotations

from datetime import date

import polars as pl

from metrics import queries as q
from metrics import table_queries as tq
from metrics.config import AGGREGATE_GROUPS, AGGREGATE_LABEL, CHARACTERISTICS, DEFAULTS, Settings
from metrics.queries import FilterError, Filters
from metrics.table_builders import (
    RECRUITMENT_STAGES,
    adjust_across_table,
    common,
    dated,
    empty_with_stage,
    fy_label,
)
from metrics.warehouse import Warehouse

# The SPOC measures of fct_spoc_monthly with their labels.
SPOC_MEASURES = {
    "n_raised": "Raised",
    "n_closed": "Closed",
    "n_upheld": "Upheld (in full or part)",
    "n_open": "Open at month end",
    "n_open_overdue": f"Open beyond {DEFAULTS.service_standard_days} days",
    "n_independent_assessor": "Independent assessor",
}
# The SPOC pack's headline measures, in display order, with their labels.
PACK_MEASURES = {
    "n_raised": "Grievances raised",
    "n_closed": "Grievances closed",
    "n_open": "Open at month end",
    "n_open_overdue": f"Open longer than the {DEFAULTS.service_standard_days}-day service standard",
}
# Raised and closed add up across months to totals other tables publish (the 12-month categories
# and outcome tables), so over those 12 months they are one suppression set; open and overdue are
# stocks, not additive, so each of their cells stands alone (primary suppression).
PACK_ADDITIVE = ("n_raised", "n_closed")
BENCHMARK_TABLES = ("fct_force_headcount", "stg_census_population")
NO_BENCHMARKS = ("this warehouse has no benchmark tables: load them with "
                 "`eqdash benchmark load --reference DIR --db PATH`")


# ---------------------------------------------------------------------------------------------
# Recruitment and representation
# ---------------------------------------------------------------------------------------------

def recruitment_funnel(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.disparity import decision_stage_table

    long = tq.recruitment_stage_cells(wh, f, RECRUITMENT_STAGES)
    return dated(wh, f, decision_stage_table(long, stages=RECRUITMENT_STAGES[1:], kind="four-fifths",
                                             min_n=s.min_group_for_ratio, **common(f, s)))


def outreach(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import proportion_table
    from metrics.tidy import concat_tidy

    col = tq.applicant_column(f.characteristic)
    frames = []
    for stage, flag in (("Heard via Outreach", "has_heard_via_outreach"),
                        ("Spoke only to Outreach", "has_spoken_only_to_outreach")):
        cells = tq.applicant_share_cells(wh, f, flag)
        frames.append(proportion_table(cells, min_n=s.min_group_for_ratio, **{**common(f, s), "characteristic": col})
                      .with_columns(pl.lit(stage).alias("stage")))
    return dated(wh, f, adjust_across_table(concat_tidy(frames), s))


def _stock_label(fy: int, on_date) -> str:
    """A count of people on a day: 'FY2025/26' at 31 March, 'FY2026/27 to date (at 31 Oct 2026)' before."""
    base = f"FY{fy}/{(fy + 1) % 100:02d}"
    return base if on_date >= date(fy + 1, 3, 31) else f"{base} to date (at {on_date.day} {on_date:%b %Y})"


def _share_vs_target(wh: Warehouse, f: Filters, s: Settings, counts: pl.DataFrame, measure: str) -> pl.DataFrame:
    from metrics.targets import share_vs_target

    table = share_vs_target(counts, tq.targets(wh), measure=measure, aggregate_groups=AGGREGATE_GROUPS,
                            aggregate_label=AGGREGATE_LABEL, alpha=s.alpha)
    return dated(wh, f, table.with_columns(pl.col("stage").alias("period_label")))


def representation(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    # In post on the last day of each financial year in the window (the extract date for the
    # current year). The target is read on that same day (31 March), not at the month's start:
    # the 16%-by-2022-03-31 target applies on 31 March 2022.
    counts = tq.officers_at_year_ends(wh, f)
    counts = counts.with_columns(pl.struct("financial_year", "as_at").map_elements(
        lambda r: _stock_label(r["financial_year"], r["as_at"]), return_dtype=pl.String).alias("period_label"))
    return _share_vs_target(wh, f, s, counts, "OFFICER_REPRESENTATION")


def recruit_share(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    # By the date they joined (people.join_date), not the date they applied: this year's applicants
    # mostly have not joined yet, which would make the current year's share look like zero. Only
    # joiners inside the period count: --from 2019-01 gives FY2018/19's January-March joiners.
    counts = tq.officer_joiners(wh, f)
    extract = tq.data_window(wh)[2]
    counts = counts.with_columns(pl.struct("financial_year", "first_month", "last_month", "as_at").map_elements(
        lambda r: fy_label(r["financial_year"], r["first_month"], r["last_month"], r["as_at"], extract),
        return_dtype=pl.String).alias("period_label"))
    return _share_vs_target(wh, f, s, counts, "RECRUIT_SHARE")


def representation_projection(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.targets import representation_projection as project

    return project(tq.officer_flows(wh), tq.targets(wh), alpha=s.alpha)


# ---------------------------------------------------------------------------------------------
# SPOC monthly and data quality
# ---------------------------------------------------------------------------------------------

def spoc_monthly(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    wide = tq.spoc_monthly(wh, f, tuple(SPOC_MEASURES))
    return (wide.unpivot(index=["business_area_code", "business_area_name", "month_start"],
                         variable_name="measure", value_name="n")
            .with_columns(pl.col("measure").replace_strict(SPOC_MEASURES), pl.col("n").cast(pl.Int64)))


def spoc_trend(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    end = f.end if f.end is not None else tq.latest_spoc_month(wh)
    if end is None:
        return pl.DataFrame(schema={"month_start": pl.Date, "measure": pl.String, "label": pl.String,
                                    "n": pl.Int64, "suppression_set": pl.String})
    start, year_start = q.add_months(end, -12), q.add_months(end, -11)
    wide = tq.spoc_months(wh, f, start, end, tuple(PACK_MEASURES))
    order = {m: i for i, m in enumerate(PACK_MEASURES)}
    return (wide.unpivot(index="month_start", on=list(PACK_MEASURES), variable_name="measure", value_name="n")
            .with_columns(
                pl.col("measure").replace_strict(PACK_MEASURES, return_dtype=pl.String).alias("label"),
                pl.col("n").cast(pl.Int64),
                pl.when(pl.col("measure").is_in(PACK_ADDITIVE) & (pl.col("month_start") >= year_start))
                .then(pl.col("measure") + pl.lit(f" {year_start:%Y-%m} to {end:%Y-%m}"))
                .otherwise(pl.col("measure") + " " + pl.col("month_start").dt.strftime("%Y-%m"))
                .alias("suppression_set"),
                pl.col("measure").replace_strict(order, return_dtype=pl.Int32).alias("_o"))
            .sort("_o", "month_start").drop("_o")
            .select("month_start", "measure", "label", "n", "suppression_set"))


def not_stated(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.rates import not_stated_share
    from metrics.tidy import concat_tidy

    last = tq.last_month(wh)
    if f.start is not None and f.start > last:
        return empty_with_stage().drop("stage")  # the period is after the data: nothing to report
    month = min(f.end, last) if f.end else last
    # in post at the end of the month (the extract date for the current month)
    on_date = tq.month_end_in_window(wh, month)
    if on_date is None:
        return empty_with_stage().drop("stage")  # the period is before the data
    frames = [not_stated_share(tq.stated_counts(wh, f, c.column, on_date), characteristic=c.column,
                               not_stated=c.not_stated, alpha=s.alpha)
              for c in CHARACTERISTICS.values()
              if c.not_stated is not None and c.column not in ("ethnicity", "ethnicity_sex")]
    return dated(wh, f.with_(start=month, end=month), concat_tidy(frames))


# ---------------------------------------------------------------------------------------------
# Benchmarks: the published Home Office tables and the 2011 Census (metrics/benchmarks.py)
# ---------------------------------------------------------------------------------------------

def has_benchmarks(wh: Warehouse) -> bool:
    return all(t in wh.tables() for t in BENCHMARK_TABLES)


def own_force_in_post(wh: Warehouse) -> pl.DataFrame:
    """The warehouse's police officers in post at each 31 March of its window, by rank code and
    ethnic group (year, rank_grade, ethnicity_group, headcount)."""
    from metrics.benchmarks import march_dates

    bounds = tq.calendar_bounds(wh)
    if bounds.height == 0 or bounds["first"][0] is None:
        return pl.DataFrame(schema={"year": pl.Int64, "rank_grade": pl.String, "ethnicity_group": pl.String,
                                    "headcount": pl.Int64})
    frames = [tq.officers_in_post(wh, d) for d in march_dates(bounds["first"][0], bounds["last"][0])]
    return pl.concat(frames) if frames else pl.DataFrame()


def force_representation(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.benchmarks import EXTRAS, force_representation, own_force_headcount
    from metrics.tidy import empty_tidy

    if not has_benchmarks(wh):
        raise FilterError(NO_BENCHMARKS)
    headcount = wh.table("fct_force_headcount")
    census = wh.table("stg_census_population")
    own = own_force_headcount(own_force_in_post(wh).filter(pl.col("headcount") > 0)) if "fct_person_time" in wh.tables() else None
    frame = force_representation(headcount, census, alpha=s.alpha, adjustment=s.adjustment, own=own)
    if f.start is not None or f.end is not None:  # the counts at each 31 March inside the period
        lo = f.start or q.EARLIEST
        hi = q.last_day(f.end) if f.end else q.LATEST
        years = [y for y in range(lo.year, hi.year + 1) if lo <= date(y, 3, 31) <= hi]
        frame = frame.filter(pl.col("year").is_in(years))
    return frame if frame.height else empty_tidy(EXTRAS)


def benchmark_quality(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    if "benchmark_audit" not in wh.tables():
        raise FilterError(NO_BENCHMARKS)
    return tq.benchmark_audit(wh)


# ---------------------------------------------------------------------------------------------
# Supervision ratios (IOPC recommendations 13-14; metrics/supervision.py)
# ---------------------------------------------------------------------------------------------

def supervision_ratios(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics import supervision as sv

    teams, tenure, recruits = tq.supervision_inputs(wh, f)
    frames = [sv.constables_per_sergeant(teams, standard=s.constables_per_sergeant),
              sv.teams_per_inspector(teams, standard=s.teams_per_inspector),
              sv.recruits_per_line_manager(recruits, standard=s.recruits_per_line_manager),
              sv.high_demand_tenure(tenure, limit_days=s.high_demand_tenure_days)]
    return pl.concat([fr.cast(sv.RATIO_SCHEMA) for fr in frames])


def supervision_trend(wh: Warehouse, f: Filters, s: Settings) -> pl.DataFrame:
    from metrics.supervision import supervision_trend as trend

    return trend(supervision_ratios(wh, f, s))
