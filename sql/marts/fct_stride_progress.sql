-- fct_stride_progress: each STRIDE commitment's reported status at every Management Board.
-- Grain: commitment_id x board_date (unique).
-- Upstream: stg_stride_updates, ref_codes (the 16 commitments and their themes).
with updates as (
    select * from stg_stride_updates
),

commitments as (
    select code::integer as commitment_id, label as commitment, group_label as theme
    from ref_codes
    where code_list = 'stride_commitment'
),

sequenced as (
    select
        u.*,
        lag(u.rag_status) over w as previous_rag_status,
        u.percent_complete - lag(u.percent_complete) over w as percent_change,
        row_number() over w as board_seq,
        u.board_date = max(u.board_date) over (partition by u.commitment_id) as is_latest
    from updates as u
    window w as (partition by u.commitment_id order by u.board_date)
),

final as (
    select
        s.commitment_id,
        c.theme,
        c.commitment,
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
    left join commitments as c using (commitment_id)
)

select * from final
