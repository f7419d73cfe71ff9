-- fct_iopc_progress: each action on the 15 IOPC Operation Hotton recommendations, per board date.
-- Grain: action_id x board_date (unique).
-- Upstream: stg_iopc_actions, ref_codes (the 15 recommendations and their themes).
with actions as (
    select * from stg_iopc_actions
),

recommendations as (
    select code::integer as recommendation_id, label as recommendation, group_label as theme
    from ref_codes
    where code_list = 'iopc_recommendation'
),

sequenced as (
    select
        a.*,
        lag(a.rag_status) over w as previous_rag_status,
        a.percent_complete - lag(a.percent_complete) over w as percent_change,
        row_number() over w as board_seq,
        a.board_date = max(a.board_date) over (partition by a.action_id) as is_latest
    from actions as a
    window w as (partition by a.action_id order by a.board_date)
),

final as (
    select
        s.action_id,
        s.recommendation_id,
        r.theme,
        r.recommendation,
        s.action,
        s.board_date,
        s.board_seq,
        s.rag_status,
        s.previous_rag_status,
        s.percent_complete,
        s.percent_change,
        s.milestones_due,
        s.milestones_met,
        s.milestones_due - s.milestones_met as n_milestones_overdue,
        s.senior_lead,
        s.narrative,
        s.is_latest
    from sequenced as s
    left join recommendations as r using (recommendation_id)
)

select * from final
