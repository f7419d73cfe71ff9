-- fct_team_tenure: time in post of the constables on a high-demand team (night-time economy,
-- permanent nights) at the end of each month: days since their posting on that team began.
-- Grain: month_start, posting_id (unique).
-- Upstream: stg_postings, dim_calendar.
with teams as (
    select * from stg_postings where is_high_demand and rank_grade = 'PC'
),

calendar as (
    select month_start, month_end_in_window from dim_calendar
),

final as (
    select
        c.month_start,
        t.business_area_code,
        t.team_code,
        t.team_type_label,
        t.posting_id,
        t.person_id,
        t.rank_grade,
        t.start_date,
        date_diff('day', t.start_date, c.month_end_in_window) + 1 as days_in_post
    from calendar as c
    inner join teams as t
        on t.start_date <= c.month_end_in_window and coalesce(t.end_date, date '9999-12-31') >= c.month_end_in_window
)

select * from final
