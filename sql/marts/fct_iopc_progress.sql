-- fct_iopc_progress: each action on the 15 IOPC Operation Hotton recommendations, per board date.
-- Grain: action_id, board_date (unique).
-- Upstream: stg_iopc_actions, int_board_progress, ref_codes (the 15 recommendations and their themes).
with actions as (
    select action_id, recommendation_id, action, board_date from stg_iopc_actions
),

progress as (
    select * from int_board_progress where tracker = 'iopc'
),

recommendations as (
    select code::integer as recommendation_id, label as recommendation, group_label as theme
    from ref_codes
    where code_list = 'iopc_recommendation'
),

final as (
    select
        a.action_id,
        a.recommendation_id,
        r.theme,
        r.recommendation,
        a.action,
        p.* exclude (tracker, item_id)
    from actions as a
    inner join progress as p on p.item_id = a.action_id and p.board_date = a.board_date
    left join recommendations as r using (recommendation_id)
)

select * from final
