-- fct_stride_progress: each STRIDE commitment's reported status at every Management Board.
-- Grain: commitment_id, board_date (unique).
-- Upstream: stg_stride_updates, int_board_progress, ref_codes (the 16 commitments and their themes).
with updates as (
    select commitment_id, board_date from stg_stride_updates
),

progress as (
    select * from int_board_progress where tracker = 'stride'
),

commitments as (
    select code::integer as commitment_id, label as commitment, group_label as theme
    from ref_codes
    where code_list = 'stride_commitment'
),

final as (
    select
        u.commitment_id,
        c.theme,
        c.commitment,
        p.* exclude (tracker, item_id)
    from updates as u
    inner join progress as p on p.item_id = u.commitment_id::varchar and p.board_date = u.board_date
    left join commitments as c using (commitment_id)
)

select * from final
