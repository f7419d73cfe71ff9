-- fct_team_months: who is on each team at the end of each month (the supervision ratios' counts).
-- Grain: month_start, team_code (unique). The count is taken on month_end_in_window (the
--        extract date for the current month): constables, sergeants and inspectors in post on
--        the team that day. Teams with nobody in post that day have no row.
-- Upstream: stg_postings, dim_calendar.
-- Invariant: n_on_team = n_constables + n_sergeants + n_inspectors + n_other.
-- A posting is in post at the end of a run of consecutive months (month_end_in_window rises month
-- by month), so each posting adds one at its first such month and takes it away after its last;
-- a running sum over each team's changes, held until its next change, gives the counts without a
-- posting x month table (15M rows at `national`). A team is its business area and team code: the
-- running sums are partitioned by those two only, so each (month, team) comes out once with no
-- final GROUP BY. Its type is the one its postings give; should postings of one team disagree
-- (the contract does not forbid it), every posting is counted and the type shown is the smallest
-- type code among the postings changing the team in the month of the latest change.
with bounds as (
    select min(month_start) as first_month, max(month_start) as last_month, max(extract_date) as extract_date
    from dim_calendar
),

teams as (
    select
        t.business_area_code, t.team_code, t.team_type, t.team_type_label, t.is_high_demand, t.rank_grade,
        -- the first month whose end (in the window) is on or after the start: the start's month
        -- (a posting starting before the window counts from its first month)
        greatest(date_trunc('month', t.start_date)::date, b.first_month) as first_in,
        -- the last month whose end (in the window) is on or before the end date: the end's month
        -- if the posting runs to that month's end, else the month before; an end on or after the
        -- extract date (or none) runs to the last month
        case
            when coalesce(t.end_date, date '9999-12-31') >= b.extract_date then b.last_month
            when t.end_date = last_day(t.end_date) then date_trunc('month', t.end_date)::date
            else (date_trunc('month', t.end_date) - interval 1 month)::date
        end as last_in
    from stg_postings as t
    cross join bounds as b
    where t.team_code is not null and t.start_date <= b.extract_date
),

changes as (
    select
        business_area_code, team_code, month_start,
        min(team_type) as team_type,
        arg_min(team_type_label, team_type) as team_type_label,
        sum(sign * is_high_demand::int)::bigint as d_high_demand,
        sum(sign * (rank_grade = 'PC')::int)::bigint as d_constables,
        sum(sign * (rank_grade = 'PS')::int)::bigint as d_sergeants,
        sum(sign * (rank_grade = 'INSP')::int)::bigint as d_inspectors,
        sum(sign * coalesce(rank_grade not in ('PC', 'PS', 'INSP'), false)::int)::bigint as d_other,
        sum(sign)::bigint as d_on_team
    from (
        -- each posting's two changes: +1 in its first month, -1 the month after its last
        select *, first_in as month_start, 1 as sign from teams where first_in <= last_in
        union all
        select *, (last_in + interval 1 month)::date, -1 from teams where first_in <= last_in
    )
    group by business_area_code, team_code, month_start
),

-- the counts from each change until the team's next change (or the last month), one row per month
running as (
    select
        business_area_code, team_code, team_type, team_type_label, month_start,
        coalesce((lead(month_start) over w - interval 1 month)::date, (select last_month from bounds)) as until_month,
        sum(d_high_demand) over w as n_high_demand,
        sum(d_constables) over w as n_constables,
        sum(d_sergeants) over w as n_sergeants,
        sum(d_inspectors) over w as n_inspectors,
        sum(d_other) over w as n_other,
        sum(d_on_team) over w as n_on_team
    from changes
    window w as (partition by business_area_code, team_code order by month_start rows unbounded preceding)
),

in_post as (
    select
        * exclude (month_start, until_month),
        unnest(generate_series(month_start, until_month, interval 1 month))::date as month_start
    from running
    where n_on_team > 0
),

final as (
    select
        month_start,
        business_area_code,
        team_code,
        team_type,
        team_type_label,
        n_high_demand > 0 as is_high_demand,
        n_constables::bigint as n_constables,
        n_sergeants::bigint as n_sergeants,
        n_inspectors::bigint as n_inspectors,
        n_other::bigint as n_other,
        n_on_team::bigint as n_on_team
    from in_post
)

select * from final
