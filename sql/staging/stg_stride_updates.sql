-- stg_stride_updates: STRIDE commitment progress per Management Board, with the RAG label.
-- Grain: commitment_id x board_date (unique).
-- Upstream: raw_stride_updates, ref_codes.
with updates as (
    select * from raw_stride_updates
),

rag as (
    select code, label from ref_codes where code_list = 'rag_status'
),

final as (
    select
        u.commitment_id,
        u.board_date,
        u.rag_status,
        r.label as rag_status_label,
        u.rag_status = 'C' as is_complete,
        u.percent_complete,
        u.milestones_due,
        u.milestones_met,
        u.senior_lead,
        u.narrative
    from updates as u
    left join rag as r on r.code = u.rag_status
)

select * from final
