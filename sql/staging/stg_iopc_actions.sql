-- stg_iopc_actions: progress on the IOPC Operation Hotton recommendation actions per board date.
-- Grain: action_id x board_date (unique).
-- Upstream: raw_iopc_actions, ref_codes.
with actions as (
    select * from raw_iopc_actions
),

rag as (
    select code, label from ref_codes where code_list = 'rag_status'
),

final as (
    select
        a.action_id,
        a.recommendation_id,
        a.action,
        a.board_date,
        a.rag_status,
        r.label as rag_status_label,
        a.rag_status = 'C' as is_complete,
        a.percent_complete,
        a.milestones_due,
        a.milestones_met,
        a.senior_lead,
        a.narrative
    from actions as a
    left join rag as r on r.code = a.rag_status
)

select * from final
