-- stg_misconduct_cases: misconduct referrals with labels and the decision-point flags.
-- Grain: case_id (unique).
-- Upstream: raw_misconduct_cases, ref_codes.
-- has_sanction: a written warning or worse (final written warning, reduction in rank, dismissal).
-- failed_to_report keeps its source name (the marts read it) but is a BOOLEAN like the is_ flags.
with cases as (
    select * from raw_misconduct_cases
),

codes as (
    select code_list, code, label from ref_codes
),

final as (
    select
        c.case_id,
        c.person_id,
        c.business_area_code,
        c.referral_date,
        c.source,
        src.label as source_label,
        c.allegation_type,
        alg.label as allegation_type_label,
        c.severity,
        sev.label as severity_label,
        c.is_investigated = 'Y' as is_investigated,
        c.route,
        rt.label as route_label,
        coalesce(c.route in ('MISCONDUCT_MEETING', 'GROSS_MISCONDUCT_HEARING'), false) as has_reached_meeting_or_hearing,
        c.outcome,
        oc.label as outcome_label,
        c.outcome_date,
        c.outcome is null as is_open,
        coalesce(c.outcome in ('WRITTEN_WARNING', 'FINAL_WRITTEN_WARNING', 'REDUCTION_IN_RANK', 'DISMISSAL'), false) as has_sanction,
        date_diff('day', c.referral_date, c.outcome_date) as days_to_outcome,
        c.failed_to_report = 'Y' as failed_to_report,
        c.failed_to_report_reason,
        ftr.label as failed_to_report_reason_label
    from cases as c
    left join codes as src on src.code_list = 'misconduct_source' and src.code = c.source
    left join codes as alg on alg.code_list = 'allegation_type' and alg.code = c.allegation_type
    left join codes as sev on sev.code_list = 'severity' and sev.code = c.severity
    left join codes as rt on rt.code_list = 'misconduct_route' and rt.code = c.route
    left join codes as oc on oc.code_list = 'misconduct_outcome' and oc.code = c.outcome
    left join codes as ftr on ftr.code_list = 'failed_to_report_reason' and ftr.code = c.failed_to_report_reason
)

select * from final
