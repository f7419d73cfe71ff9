-- fct_grievance_outcomes: every grievance with how (and whether) it ended and who raised it.
-- Grain: grievance_id (unique).
-- Upstream: stg_grievances, dim_person, int_event_as_at, dim_calendar.
-- Characteristics are the aggrieved person's; rank, age and service band as at the raised month.
-- Open grievances are censored at the extract date for time-to-resolution.
with grievances as (
    select * from stg_grievances
),

people as (
    select * from dim_person
),

extract as (
    select max(extract_date) as extract_date from dim_calendar
),

at_raise as (
    select event_id as grievance_id, rank_label, age_band, service_band from int_event_as_at where event = 'grievance'
),

final as (
    select
        g.grievance_id,
        g.person_id,
        g.business_area_code,
        g.raised_date,
        date_trunc('month', g.raised_date)::date as raised_month,
        case when month(g.raised_date) >= 4 then year(g.raised_date) else year(g.raised_date) - 1 end as financial_year,
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
        p.worker_type,
        coalesce(r.rank_label, 'Not in post') as rank_grade,
        coalesce(r.age_band, 'Not in post') as age_band,
        coalesce(r.service_band, 'Not in post') as service_band,
        p.sex,
        p.ethnicity,
        p.ethnicity_group,
        p.is_black_asian_mixed_other,
        p.ethnicity_sex,
        p.disability,
        p.gender_reassignment,
        p.marital_status,
        p.pregnancy_maternity,
        p.religion,
        p.caring_responsibilities,
        p.sexual_orientation
    from grievances as g
    inner join people as p using (person_id)
    left join at_raise as r using (grievance_id)
    cross join extract as x
)

select * from final
