"""The registry's SQL: every query a metric table runs beyond the shared cells of metrics/queries.py.

Each function takes an open Warehouse and Filters and returns a small polars frame. Values reach
DuckDB only as named parameters (`$start`, `$end`, `$area`, `$worker_type` from the filters,
`$lo`/`$hi` for clipped person-time, and a few named here), passed as one dict; the identifiers
formatted in (mart columns, the characteristic column) are fixed names or checked against
config.CHARACTERISTICS first.
"""
# ruff: noqa: S608 - only identifiers vary in these SQL strings (see above); values are parameters

from __future__ import annotations

from datetime import date

import polars as pl

from metrics import queries as q
from metrics.config import AGGREGATE_GROUPS, APPLICANT_CHARACTERISTICS, CHARACTERISTICS
from metrics.queries import Filters
from metrics.warehouse import Warehouse

# (stage, at the previous stage, decided here, progressed) for the misconduct decision points.
MISCONDUCT_STEPS = (("Investigated", "true", "is_investigation_decided", "is_investigated"),
                    ("Meeting or hearing", "is_investigated", "is_route_decided", "is_meeting_or_hearing"),
                    ("Sanction", "is_meeting_or_hearing", "is_outcome_decided", "has_sanction"))


def data_window(wh: Warehouse) -> tuple:
    """(first month, last month, extract date) of the warehouse."""
    return wh.query("""select min(month_start) as first_month, max(month_start) as last_month,
                              max(extract_date) as extract_date from dim_calendar""").row(0)


def financial_year_bounds(wh: Warehouse) -> pl.DataFrame:
    """financial_year, fy_start, fy_end: each financial year's first and last month in the warehouse."""
    return wh.query("""select financial_year, min(month_start) as fy_start, max(month_start) as fy_end
                       from dim_calendar group by all order by all""")


def stratified_cells(wh: Warehouse, f: Filters, *, table: str, month_col: str, numerator: str) -> pl.DataFrame:
    """group, stratum (financial year), n, events."""
    col = q.characteristic_column(f.characteristic)
    where, params = q.where_clause(f, month_col)
    return wh.query(
        f"""select {col} as "group", case when month({month_col}) >= 4 then year({month_col})
                                          else year({month_col}) - 1 end as stratum,
                   count(*)::bigint as n, count(*) filter (where {numerator})::bigint as events
            from {table} where {where} group by all order by all""", params)


def upheld_by_category(wh: Warehouse, f: Filters) -> pl.DataFrame:
    """group, category, n, events: closed grievances and of them upheld."""
    col = q.characteristic_column(f.characteristic)
    where, params = q.where_clause(f, "closed_month")
    return wh.query(
        f"""select {col} as "group", category_label as category, count(*)::bigint as n,
                   count(*) filter (where is_upheld)::bigint as events
            from fct_grievance_outcomes where {where} and not is_open group by all order by all""", params)


def resolution_rows(wh: Warehouse, f: Filters) -> pl.DataFrame:
    """group, duration (days), is_event (closed): a row per grievance raised in the period."""
    col = q.characteristic_column(f.characteristic)
    where, params = q.where_clause(f, "raised_month")
    return wh.query(
        f"""select {col} as "group", days_observed::double as duration, not is_open as is_event
            from fct_grievance_outcomes where {where} order by all""", params)


def area_grievance_cells(wh: Warehouse, f: Filters) -> pl.DataFrame:
    """group (business area), exposure, events: grievances raised and person-years, every area."""
    sub, where, params = q.person_time(f.with_(area=None))
    exposure = wh.query(
        f"""select business_area_code as "group", (sum(exposure_days) / 365.25)::double as exposure
            from {sub} where {where} group by all""", params)
    where, params = q.where_clause(f.with_(area=None), "raised_month")
    events = wh.query(
        f"""select business_area_code as "group", count(*)::bigint as events
            from fct_grievance_outcomes where {where} group by all""", params)
    return (exposure.join(events, on="group", how="left")
            .with_columns(pl.col("events").fill_null(0)).sort("group"))


def adjusted_rate_cells(wh: Warehouse, f: Filters, covariates: list[str]) -> pl.DataFrame:
    """group, the covariates, exposure, events: misconduct referrals by group and covariate cell."""
    col = q.characteristic_column(f.characteristic)
    keys = ", ".join(covariates)
    sub, where, params = q.person_time(f)
    exposure = wh.query(
        f"""select {col} as "group", {keys}, (sum(exposure_days) / 365.25)::double as exposure
            from {sub} where {where} group by all""", params)
    where, params = q.where_clause(f, "referral_month")
    events = wh.query(
        f"""select {col} as "group", {keys}, count(*)::bigint as events
            from fct_misconduct_referrals where {where} group by all""", params)
    return (exposure.join(events, on=["group", *covariates], how="full", coalesce=True)
            .with_columns(pl.col("events").fill_null(0), pl.col("exposure").fill_null(0.0))
            .filter(pl.col("exposure") > 0)
            .sort(["group", *covariates]))


def misconduct_stage_cells(wh: Warehouse, f: Filters) -> pl.DataFrame:
    """group, stage, n (decided), events (progressed), n_pending at each misconduct decision point."""
    col = q.characteristic_column(f.characteristic)
    where, params = q.where_clause(f, "referral_month")
    parts = [f"""select {col} as "group", '{stage}' as stage,
                        count(*) filter (where {prev} and {decided})::bigint as n,
                        count(*) filter (where {prev} and {decided} and {done})::bigint as events,
                        count(*) filter (where {prev} and not {decided})::bigint as n_pending
                 from fct_misconduct_referrals where {where} group by all"""  # noqa: S608 - fixed names
             for stage, prev, decided, done in MISCONDUCT_STEPS]
    return wh.query(" union all ".join(parts) + " order by 2, 1", params)


def applicant_column(characteristic: str) -> str:
    """The group column for applications, which record only some characteristics."""
    if any(p not in APPLICANT_CHARACTERISTICS for p in q.characteristic_parts(characteristic)):
        raise q.FilterError(f"applications record only {', '.join(APPLICANT_CHARACTERISTICS)}; not '{characteristic}'")
    return q.characteristic_column(characteristic)


def recruitment_stage_cells(wh: Warehouse, f: Filters, stages: tuple[str, ...]) -> pl.DataFrame:
    """group, stage, n (decided), events (passed), n_pending at each recruitment stage after the first."""
    col = applicant_column(f.characteristic)
    where, params = q.where_clause(f, "applied_month", area_col=None, worker_col=None)
    parts = [f"""select {col} as "group", '{stage}' as stage,
                        count(*) filter (where stage_rank >= {rank - 1} and (stage_rank >= {rank} or not is_in_progress))::bigint as n,
                        count(*) filter (where stage_rank >= {rank})::bigint as events,
                        count(*) filter (where stage_rank = {rank - 1} and is_in_progress)::bigint as n_pending
                 from fct_recruitment_funnel where {where} group by all"""  # noqa: S608 - fixed names
             for rank, stage in enumerate(stages[1:], start=2)]
    return wh.query(" union all ".join(parts) + " order by 2, 1", params)


def applicant_share_cells(wh: Warehouse, f: Filters, flag: str) -> pl.DataFrame:
    """group, n, events: applicants, and of them those with `flag` (a fixed column name)."""
    col = applicant_column(f.characteristic)
    where, params = q.where_clause(f, "applied_month", area_col=None, worker_col=None)
    return wh.query(
        f"""select {col} as "group", count(*)::bigint as n, count(*) filter (where {flag})::bigint as events
            from fct_recruitment_funnel where {where} group by all order by all""", params)


def officers_at_year_ends(wh: Warehouse, f: Filters) -> pl.DataFrame:
    """financial_year, as_at, group (ethnic group), n: officers in post on the last day of each
    financial year in the window (the extract date for the current year)."""
    where, params = q.where_clause(f.with_(worker_type=None), "c.month_start", area_col="pt.business_area_code")
    return wh.query(
        f"""with fy_end as (select financial_year, max(month_start) as month_start,
                                   max(month_end_in_window) as on_date
                            from dim_calendar group by all)
            select c.financial_year, c.on_date as as_at, pt.ethnicity_group as "group",
                   count(distinct pt.person_id)::bigint as n
            from {q.PERSON_TIME} as pt inner join fy_end as c
                on pt.from_date <= c.on_date and pt.to_date >= c.on_date
            where {where} and pt.worker_type_code = 'OFFICER'
            group by all order by all""", params)


def officer_joiners(wh: Warehouse, f: Filters) -> pl.DataFrame:
    """financial_year, first_month, last_month, as_at, group (ethnic group), n: officers joining in
    each financial year's months inside the period, by joining date."""
    where, params = q.where_clause(f, "month_start", area_col=None, worker_col=None)
    return wh.query(
        f"""with years as (select financial_year, min(month_start) as first_month, max(month_start) as last_month,
                                  max(month_end_in_window) as as_at
                           from dim_calendar where {where} group by all)
            select y.financial_year, y.first_month, y.last_month, y.as_at, p.ethnicity_group as "group",
                   count(*)::bigint as n
            from dim_person as p inner join years as y on p.join_date between y.first_month and y.as_at
            where p.worker_type_code = 'OFFICER' group by all order by all""", params)


def officer_flows(wh: Warehouse) -> pl.DataFrame:
    """Officer headcount, joiners and leavers per complete financial year, in and out of the aggregate."""
    return wh.query(
        """select financial_year, is_black_asian_mixed_other as is_aggregate,
                  sum(n_headcount_start)::bigint as n_headcount_start,
                  sum(n_joiners)::bigint as n_joiners, sum(n_leavers)::bigint as n_leavers,
                  sum(n_headcount_end)::bigint as n_headcount_end
           from (select *, list_contains($aggregate, ethnicity_group) as is_black_asian_mixed_other
                 from fct_workforce_flows where worker_type_code = 'OFFICER' and ethnicity_group <> 'Not stated')
           -- complete financial years only: a part-year would understate annual joiners and leavers
           where financial_year in (select financial_year from dim_calendar group by all having count(*) = 12)
           group by all order by all""", {"aggregate": list(AGGREGATE_GROUPS)})


def targets(wh: Warehouse) -> pl.DataFrame:
    return wh.query("select measure, target_group, target_date, target_share from stg_targets order by all")


def stride_status(wh: Warehouse) -> pl.DataFrame:
    return wh.query(
        """select commitment_id, theme, commitment, board_date, rag_status, previous_rag_status,
                  percent_complete, percent_change, milestones_due, milestones_met, n_milestones_overdue,
                  senior_lead, narrative
           from fct_stride_progress where is_latest order by commitment_id""")


def stride_history(wh: Warehouse) -> pl.DataFrame:
    return wh.query(
        """select commitment_id, theme, board_date, rag_status, percent_complete, n_milestones_overdue
           from fct_stride_progress order by commitment_id, board_date""")


def iopc_status(wh: Warehouse) -> pl.DataFrame:
    return wh.query(
        """select recommendation_id, theme, recommendation, action_id, action, board_date, rag_status,
                  percent_complete, milestones_due, milestones_met, n_milestones_overdue, senior_lead
           from fct_iopc_progress where is_latest order by recommendation_id, action_id""")


def spoc_monthly(wh: Warehouse, f: Filters, measures: tuple[str, ...]) -> pl.DataFrame:
    """Each business area's monthly SPOC measures (wide)."""
    where, params = q.where_clause(f, "month_start", worker_col=None)
    return wh.query(
        f"""select business_area_code, business_area_name, month_start, {", ".join(measures)}
            from fct_spoc_monthly where {where} order by business_area_code, month_start""", params)


def latest_spoc_month(wh: Warehouse) -> date | None:
    latest = wh.query("select max(month_start) as m from fct_spoc_monthly")["m"]
    return latest[0] if latest.len() else None


def spoc_months(wh: Warehouse, f: Filters, start: date, end: date, measures: tuple[str, ...]) -> pl.DataFrame:
    """month_start and each measure summed over the filter's area, every month from start to end
    (zeros for months the area had nothing)."""
    where, params = q.where_clause(f.with_(start=start, end=end), "month_start", worker_col=None)
    sums = ", ".join(f"coalesce(sum({m}), 0)::bigint as {m}" for m in measures)
    return wh.query(
        f"""select c.month_start, {", ".join(f"coalesce(x.{m}, 0)::bigint as {m}" for m in measures)}
            from dim_calendar as c left join (
                select month_start, {sums} from fct_spoc_monthly where {where} group by all
            ) as x using (month_start)
            where c.month_start between $start and $end order by c.month_start""",  # noqa: S608 - fixed column names
        params)


def load_audit(wh: Warehouse) -> pl.DataFrame:
    return wh.query("""select extract, file, rows_read, rows_accepted, rows_quarantined, n_normalised, notes
                       from load_audit order by extract""")


def quarantine_by_rule(wh: Warehouse) -> pl.DataFrame:
    return wh.query("""select extract, rule, column_name, count(distinct source_row)::bigint as n_rows
                       from quarantine group by all order by extract, n_rows desc""")


def quarantine_rows(wh: Warehouse) -> pl.DataFrame:
    return wh.query("""select extract, file, source_row, rule, column_name, value, message
                       from quarantine order by extract, source_row, rule""")


def benchmark_audit(wh: Warehouse) -> pl.DataFrame:
    return wh.query("""select extract, file, rows_read, rows_accepted, rows_quarantined, notes
                       from benchmark_audit order by extract desc, file""")


def last_month(wh: Warehouse) -> date:
    return wh.query("select max(month_start) as m from dim_calendar")["m"][0]


def month_end_in_window(wh: Warehouse, month: date) -> date | None:
    """The day a month's in-post count is taken: its last day, or the extract date for the current month."""
    on_date = wh.query("select month_end_in_window as d from dim_calendar where month_start = $month",
                       {"month": month})["d"]
    return on_date[0] if on_date.len() else None


def stated_counts(wh: Warehouse, f: Filters, column: str, on_date: date) -> pl.DataFrame:
    """group, n: people in post on a day by one characteristic's groups (a config column)."""
    if column not in CHARACTERISTICS:
        raise q.FilterError(f"unknown characteristic '{column}'")
    where, params = q.where_clause(f.with_(start=None, end=None), "from_date")
    return wh.query(
        f"""select {column} as "group", count(distinct person_id)::bigint as n
            from {q.PERSON_TIME} where {where} and from_date <= $on_date and to_date >= $on_date group by all""",
        {**params, "on_date": on_date})


def calendar_bounds(wh: Warehouse) -> pl.DataFrame:
    return wh.query("select min(month_start) as first, max(month_end_in_window) as last from dim_calendar")


def officers_in_post(wh: Warehouse, day: date) -> pl.DataFrame:
    """year, rank_grade, ethnicity_group, headcount: police officers in post on a day."""
    return wh.query(
        f"""select $year::bigint as year, rank_grade, ethnicity_group, count(distinct person_id)::bigint as headcount
            from {q.PERSON_TIME} where worker_type_code = 'OFFICER' and from_date <= $day and to_date >= $day
            group by all""", {"year": day.year, "day": day})


def supervision_inputs(wh: Warehouse, f: Filters) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(team months, team tenure, recruit months) in the filter's months; recruits force-wide."""
    where, params = q.where_clause(f, "month_start", worker_col=None)
    teams = wh.query(f"select * from fct_team_months where {where}", params)
    tenure = wh.query(f"select * from fct_team_tenure where {where}", params)
    where_force, params_force = q.where_clause(f.with_(area=None), "month_start", worker_col=None)
    recruits = wh.query(f"select * from fct_recruit_months where {where_force}", params_force)
    return teams, tenure, recruits
