-- fct_spoc_monthly: the grievance SPOC's monthly headline for every business area, including
-- months with no grievances (zeros, not missing rows).
-- Grain: business_area_code x month_start (unique).
-- Upstream: fct_grievance_outcomes, stg_business_areas, dim_calendar, build_settings.
-- "Overdue" = still open at month end and raised more than service_standard_days before it (the
-- build's Settings, metrics/config.py: 90 by default).
with grievances as (
    select * from fct_grievance_outcomes
),

areas as (
    select business_area_code, business_area_name, area_type, force_name from stg_business_areas
),

calendar as (
    select month_start, month_end_in_window as month_end from dim_calendar
),

standard as (
    select service_standard_days from build_settings
),

grid as (
    select a.*, c.month_start, c.month_end from areas as a cross join calendar as c
),

raised as (
    select business_area_code, raised_month as month_start,
        count(*) as n_raised,
        count(*) filter (where is_discrimination) as n_raised_discrimination,
        count(*) filter (where is_independent_assessor) as n_independent_assessor
    from grievances group by all
),

closed as (
    select business_area_code, closed_month as month_start,
        count(*) as n_closed,
        count(*) filter (where is_upheld) as n_upheld,
        sum(days_to_resolve)::bigint as sum_days_to_resolve,
        median(days_to_resolve)::double as median_days_to_resolve
    from grievances where not is_open group by all
),

open_at_end as (
    select g.business_area_code, c.month_start,
        count(*) as n_open,
        count(*) filter (where date_diff('day', g.raised_date, c.month_end) > s.service_standard_days) as n_open_overdue
    from grievances as g
    inner join calendar as c
        on g.raised_date <= c.month_end
        and (g.outcome_date is null or g.outcome_date > c.month_end)
    cross join standard as s
    group by g.business_area_code, c.month_start
),

final as (
    select
        g.business_area_code,
        g.business_area_name,
        g.area_type,
        g.force_name,
        g.month_start,
        coalesce(r.n_raised, 0)::bigint as n_raised,
        coalesce(r.n_raised_discrimination, 0)::bigint as n_raised_discrimination,
        coalesce(r.n_independent_assessor, 0)::bigint as n_independent_assessor,
        coalesce(c.n_closed, 0)::bigint as n_closed,
        coalesce(c.n_upheld, 0)::bigint as n_upheld,
        coalesce(c.sum_days_to_resolve, 0)::bigint as sum_days_to_resolve,
        c.median_days_to_resolve,
        coalesce(o.n_open, 0)::bigint as n_open,
        coalesce(o.n_open_overdue, 0)::bigint as n_open_overdue
    from grid as g
    left join raised as r using (business_area_code, month_start)
    left join closed as c using (business_area_code, month_start)
    left join open_at_end as o using (business_area_code, month_start)
)

select * from final
