-- fct_misconduct_referrals: every misconduct referral and how far it went through the process.
-- Grain: case_id (unique).
-- Upstream: stg_misconduct_cases, dim_person, int_event_as_at.
-- Decision points, in order: referred -> investigated -> meeting or hearing -> sanction. Each
-- later flag implies the earlier ones, so each stage's denominator is the stage before.
-- A case counts at a decision only once that decision is made (is_<stage>_decided): whether to
-- investigate is recorded at referral; the route (meeting or hearing, or not) once it is recorded
-- or the case has closed; the sanction once the case has closed (an outcome is recorded). An open
-- case is pending at its next decision, never a case that "did not progress".
with cases as (
    select * from stg_misconduct_cases
),

people as (
    select * from dim_person
),

at_referral as (
    select event_id as case_id, rank_label, age_band, service_band from int_event_as_at where event = 'misconduct_case'
),

final as (
    select
        c.case_id,
        c.person_id,
        c.business_area_code,
        c.referral_date,
        date_trunc('month', c.referral_date)::date as referral_month,
        case when month(c.referral_date) >= 4 then year(c.referral_date) else year(c.referral_date) - 1 end as financial_year,
        c.source,
        c.source_label,
        c.allegation_type,
        c.allegation_type_label,
        c.severity,
        c.severity_label,
        c.route,
        c.route_label,
        c.outcome,
        c.outcome_label,
        c.outcome_date,
        c.outcome is null as is_open,
        true as is_referred,
        c.is_investigated,
        c.is_investigated and c.route in ('MISCONDUCT_MEETING', 'GROSS_MISCONDUCT_HEARING') as is_meeting_or_hearing,
        c.is_investigated
            and c.route in ('MISCONDUCT_MEETING', 'GROSS_MISCONDUCT_HEARING')
            and c.outcome in ('WRITTEN_WARNING', 'FINAL_WRITTEN_WARNING', 'REDUCTION_IN_RANK', 'DISMISSAL')
            as has_sanction,
        c.is_investigated is not null as is_investigation_decided,
        c.route is not null or c.outcome is not null as is_route_decided,
        c.outcome is not null as is_outcome_decided,
        c.failed_to_report,
        c.failed_to_report_reason,
        c.failed_to_report_reason_label,
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
    from cases as c
    inner join people as p using (person_id)
    left join at_referral as r using (case_id)
)

select * from final
