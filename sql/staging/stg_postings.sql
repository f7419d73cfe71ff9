-- stg_postings: dated spells of business area and rank or grade, with rank label and worker type.
-- Grain: posting_id (unique); end_date null = the current spell.
-- Upstream: raw_postings, ref_codes.
with postings as (
    select * from raw_postings
),

ranks as (
    select code, label, worker_type, sort_order from ref_codes where code_list = 'rank_grade'
),

worker_types as (
    select code, label from ref_codes where code_list = 'worker_type'
),

final as (
    select
        p.posting_id,
        p.person_id,
        p.business_area_code,
        p.rank_grade,
        r.label as rank_label,
        r.sort_order as rank_order,
        r.worker_type as worker_type_code,
        wt.label as worker_type,
        p.start_date,
        p.end_date,
        p.end_date is null as is_current
    from postings as p
    left join ranks as r on r.code = p.rank_grade
    left join worker_types as wt on wt.code = r.worker_type
)

select * from final
