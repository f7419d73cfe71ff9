-- stg_acting_up: acting-up decisions with rank labels and booleans for selection and rationale.
-- Grain: decision_id (unique).
-- Upstream: raw_acting_up, ref_codes.
with decisions as (
    select * from raw_acting_up
),

codes as (
    select code_list, code, label from ref_codes
),

final as (
    select
        d.decision_id,
        d.person_id,
        d.business_area_code,
        d.decision_date,
        d.substantive_rank,
        sr.label as substantive_rank_label,
        d.acting_rank,
        ar.label as acting_rank_label,
        d.outcome,
        oc.label as outcome_label,
        d.outcome = 'SELECTED' as is_selected,
        d.duration_days,
        d.is_qualified = 'Y' as is_qualified,
        d.has_rationale = 'Y' as has_rationale
    from decisions as d
    left join codes as sr on sr.code_list = 'rank_grade' and sr.code = d.substantive_rank
    left join codes as ar on ar.code_list = 'rank_grade' and ar.code = d.acting_rank
    left join codes as oc on oc.code_list = 'acting_up_outcome' and oc.code = d.outcome
)

select * from final
