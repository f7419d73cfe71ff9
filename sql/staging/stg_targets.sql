-- stg_targets: representation and recruitment targets, with measure and group labels.
-- Grain: measure x target_group x target_date (unique).
-- Upstream: raw_targets, ref_codes.
-- Kept: the representation and recruitment target lines read it (metrics/table_queries.py).
with targets as (
    select * from raw_targets
),

codes as (
    select code_list, code, label from ref_codes
),

final as (
    select
        t.measure,
        m.label as measure_label,
        t.target_group,
        g.label as target_group_label,
        t.target_date,
        t.target_share,
        t.source
    from targets as t
    left join codes as m on m.code_list = 'target_measure' and m.code = t.measure
    left join codes as g on g.code_list = 'target_group' and g.code = t.target_group
)

select * from final
