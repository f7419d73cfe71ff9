-- fct_team_months: who is on each team at the end of each month (the supervision ratios' counts).
-- Grain: month_start, team_code (unique). The count is taken on month_end_in_window (the
--        extract date for the current month): constables, sergeants and inspectors in post on
--        the team that day. Teams with nobody in post that day have no row.
-- Upstream: stg_postings, dim_calendar.
-- Invariant: n_on_team = n_constables + n_sergeants + n_inspectors + n_other.
with teams as (
    select * from stg_postings where team_code is not null
),

calendar as (
    select month_start, month_end_in_window from dim_calendar
),

on_team as (
    select c.month_start, t.business_area_code, t.team_code, t.team_type, t.team_type_label, t.is_high_demand,
           t.rank_grade, t.person_id
    from calendar as c
    inner join teams as t
        on t.start_date <= c.month_end_in_window and coalesce(t.end_date, date '9999-12-31') >= c.month_end_in_window
),

final as (
    select
        month_start,
        business_area_code,
        team_code,
        any_value(team_type) as team_type,
        any_value(team_type_label) as team_type_label,
        bool_or(is_high_demand) as is_high_demand,
        -- a person's postings never overlap (each ends the day before the next starts), so
        -- counting postings in post on a day counts people
        count(*) filter (where rank_grade = 'PC')::bigint as n_constables,
        count(*) filter (where rank_grade = 'PS')::bigint as n_sergeants,
        count(*) filter (where rank_grade = 'INSP')::bigint as n_inspectors,
        count(*) filter (where rank_grade not in ('PC', 'PS', 'INSP'))::bigint as n_other,
        count(*)::bigint as n_on_team
    from on_team
    group by month_start, business_area_code, team_code
)

select * from final
