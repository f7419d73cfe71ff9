-- fct_acting_up: every acting-up decision with the candidate's characteristics (IOPC rec. 15).
-- Grain: decision_id (unique).
-- Upstream: stg_acting_up, dim_person, int_event_as_at.
with decisions as (
    select * from stg_acting_up
),

people as (
    select * from dim_person
),

at_decision as (
    select event_id as decision_id, age_band, service_band from int_event_as_at where event = 'acting_up'
),

final as (
    select
        d.decision_id,
        d.person_id,
        d.business_area_code,
        d.decision_date,
        date_trunc('month', d.decision_date)::date as decision_month,
        case when month(d.decision_date) >= 4 then year(d.decision_date) else year(d.decision_date) - 1 end as financial_year,
        d.substantive_rank,
        d.substantive_rank_label,
        d.acting_rank,
        d.acting_rank_label,
        d.substantive_rank_label || ' to ' || d.acting_rank_label as step,
        d.is_selected,
        d.duration_days,
        d.is_qualified,
        d.has_rationale,
        p.worker_type,
        d.substantive_rank_label as rank_grade,
        coalesce(a.age_band, 'Not in post') as age_band,
        coalesce(a.service_band, 'Not in post') as service_band,
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
    from decisions as d
    inner join people as p using (person_id)
    left join at_decision as a using (decision_id)
)

select * from final
