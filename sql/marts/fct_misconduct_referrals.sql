-- fct_misconduct_referrals: every misconduct referral and how far it went through the process.
-- Grain: case_id (unique).
-- Upstream: stg_misconduct_cases, int_event_characteristics.
-- Decision points, in order: referred -> investigated -> meeting or hearing -> sanction. Each
-- later flag implies the earlier ones, so each stage's denominator is the stage before.
-- A case counts at a decision only once that decision is made (is_<stage>_decided): whether to
-- investigate is recorded at referral; the route (meeting or hearing, or not) once it is recorded
-- or the case has closed; the sanction once the case has closed (an outcome is recorded). An open
-- case is pending at its next decision, never a case that "did not progress".
with cases as (
    select * from stg_misconduct_cases
),

characteristics as (
    select * from int_event_characteristics where event = 'misconduct_case'
),

final as (
    select
        c.case_id,
        c.person_id,
        c.business_area_code,
        c.referral_date,
        date_trunc('month', c.referral_date)::date as referral_month,
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
        ch.* exclude (event, event_id)
    from cases as c
    inner join characteristics as ch on ch.event_id = c.case_id
)

select * from final
