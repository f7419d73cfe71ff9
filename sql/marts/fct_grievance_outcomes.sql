-- fct_grievance_outcomes: every grievance with how (and whether) it ended and who raised it.
-- Grain: grievance_id (unique).
-- Upstream: stg_grievances, int_event_characteristics, dim_calendar.
-- Characteristics are the aggrieved person's; rank, age and service band as at the raised month.
-- Open grievances are censored at the extract date for time-to-resolution.
with grievances as (
    select * from stg_grievances
),

characteristics as (
    select * from int_event_characteristics where event = 'grievance'
),

extract as (
    select max(extract_date) as extract_date from dim_calendar
),

final as (
    select
        g.grievance_id,
        g.person_id,
        g.business_area_code,
        g.raised_date,
        date_trunc('month', g.raised_date)::date as raised_month,
        g.category,
        g.category_label,
        g.is_discrimination,
        g.stage,
        g.assessor_type,
        g.assessor_type = 'INDEPENDENT' as is_independent_assessor,
        g.outcome,
        g.outcome_label,
        g.outcome_date,
        date_trunc('month', g.outcome_date)::date as closed_month,
        g.outcome is null as is_open,
        -- upheld = upheld or partly upheld, among closed grievances only
        case when g.outcome is null then null else g.outcome in ('UPHELD', 'PARTLY_UPHELD') end as is_upheld,
        date_diff('day', g.raised_date, g.outcome_date) as days_to_resolve,
        date_diff('day', g.raised_date, coalesce(g.outcome_date, x.extract_date)) as days_observed,
        g.satisfaction_score,
        c.* exclude (event, event_id)
    from grievances as g
    inner join characteristics as c on c.event_id = g.grievance_id
    cross join extract as x
)

select * from final
