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

final as (
    select
        c.month_start,
        p.person_id,
        any_value(p.business_area_code) as business_area_code,
        any_value(p.team_code) as team_code,
        any_value(p.line_manager_id) as line_manager_id,
        any_value(pe.join_date) as join_date
    from calendar as c
    inner join postings as p
        on p.start_date <= c.month_end_in_window and coalesce(p.end_date, date '9999-12-31') >= c.month_end_in_window
    inner join people as pe on pe.person_id = p.person_id
    where pe.worker_type_code = 'OFFICER'
      and pe.join_date <= c.month_end_in_window
      and date_diff('day', pe.join_date, c.month_end_in_window) < 140
    group by c.month_start, p.person_id
)

select * from final
