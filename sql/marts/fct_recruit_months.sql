-- fct_recruit_months: recruits in their first 20 weeks and their line managers, at the end of
-- each month. A recruit is a police officer in post on the day whose join date is at most 20
-- weeks (140 days) before it; their line manager is the one named on the posting that day.
-- Grain: month_start, person_id (unique).
-- Upstream: stg_postings, stg_people, dim_calendar.
with postings as (
    select * from stg_postings
),

people as (
    select person_id, join_date, worker_type_code from stg_people
),

calendar as (
    select month_start, month_end_in_window from dim_calendar
),

-- The months a posting can count in: from the later of its start and the join date to the
-- earlier of its end, 140 days after the join date and the extract date (each month's count is
-- taken on a day inside it), so the join to the calendar is on the month, not a range.
candidates as (
    select
        p.person_id, p.business_area_code, p.team_code, p.line_manager_id, p.start_date, p.end_date, pe.join_date,
        unnest(generate_series(
            date_trunc('month', greatest(p.start_date, pe.join_date))::date,
            date_trunc('month', least(coalesce(p.end_date, date '9999-12-31'), pe.join_date + 139, w.extract_date))::date,
            interval 1 month
        ))::date as month_start
    from postings as p
    inner join people as pe on pe.person_id = p.person_id
    cross join (select max(extract_date) as extract_date from dim_calendar) as w
    where pe.worker_type_code = 'OFFICER'
      and greatest(p.start_date, pe.join_date) <= least(coalesce(p.end_date, date '9999-12-31'), pe.join_date + 139, w.extract_date)
),

final as (
    -- one row per month and person without a GROUP BY: the contract quarantines overlapping and
    -- duplicate posting spells, so at most one posting holds a person at any month end
    select
        c.month_start,
        p.person_id,
        p.business_area_code,
        p.team_code,
        p.line_manager_id,
        p.join_date
    from calendar as c
    inner join candidates as p on p.month_start = c.month_start
    where p.start_date <= c.month_end_in_window and coalesce(p.end_date, date '9999-12-31') >= c.month_end_in_window
      and p.join_date <= c.month_end_in_window
      and date_diff('day', p.join_date, c.month_end_in_window) < 140
)

select * from final
