-- int_board_progress: every progress report to a board, on a STRIDE commitment or an IOPC action,
-- in board order with the change since the item's previous report: the one definition of a
-- progress sequence that fct_stride_progress and fct_iopc_progress share.
-- Grain: tracker, item_id, board_date (unique); tracker is 'stride' (item_id = commitment_id) or
--        'iopc' (item_id = action_id).
-- Upstream: stg_stride_updates, stg_iopc_actions.
with reports as (
    select 'stride' as tracker, commitment_id::varchar as item_id, * exclude (commitment_id) from stg_stride_updates
    union all by name
    select 'iopc' as tracker, action_id as item_id, * exclude (action_id, recommendation_id, action) from stg_iopc_actions
),

final as (
    select
        tracker,
        item_id,
        board_date,
        row_number() over w as board_seq,
        rag_status,
        lag(rag_status) over w as previous_rag_status,
        percent_complete,
        percent_complete - lag(percent_complete) over w as percent_change,
        milestones_due,
        milestones_met,
        milestones_due - milestones_met as n_milestones_overdue,
        senior_lead,
        narrative,
        board_date = max(board_date) over (partition by tracker, item_id) as is_latest
    from reports
    window w as (partition by tracker, item_id order by board_date)
)

select * from final
