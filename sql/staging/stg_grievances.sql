-- stg_grievances: grievances with category, stage, assessor and outcome labels and closure flags.
-- Grain: grievance_id (unique).
-- Upstream: raw_grievances, ref_codes.
-- is_upheld is upheld or partly upheld among closed grievances, null while open.
with grievances as (
    select * from raw_grievances
),

codes as (
    select code_list, code, label from ref_codes
),

final as (
    select
        g.grievance_id,
        g.person_id,
        g.business_area_code,
        g.raised_date,
        g.category,
        cat.label as category_label,
        g.category like 'DISCRIM\_%' escape '\' as is_discrimination,
        g.stage,
        st.label as stage_label,
        g.assessor_type,
        ast.label as assessor_type_label,
        g.assessor_type = 'INDEPENDENT' as is_independent_assessor,
        g.outcome,
        oc.label as outcome_label,
        g.outcome_date,
        g.outcome is null as is_open,
        case when g.outcome is not null then g.outcome in ('UPHELD', 'PARTLY_UPHELD') end as is_upheld,
        date_diff('day', g.raised_date, g.outcome_date) as days_to_resolve,
        g.satisfaction_score
    from grievances as g
    left join codes as cat on cat.code_list = 'grievance_category' and cat.code = g.category
    left join codes as st on st.code_list = 'grievance_stage' and st.code = g.stage
    left join codes as ast on ast.code_list = 'assessor_type' and ast.code = g.assessor_type
    left join codes as oc on oc.code_list = 'grievance_outcome' and oc.code = g.outcome
)

select * from final
