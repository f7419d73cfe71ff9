-- stg_postings: dated spells of business area and rank or grade, with rank label and worker type,
-- and the team (type label, high demand or not) and a recruit's line manager.
-- Grain: posting_id (unique); end_date null = the current spell; team_code null = not on a team.
-- Upstream: raw_postings, ref_codes, build_info.
-- An end date after the as-of date (a planned end) is still open at the as-of date: end_date is
-- null and the date as recorded stays in end_date_recorded. (Open-end markers such as 9999-12-31
-- were read as blank by the contract.)
with postings as (
    select * from raw_postings
),

as_of as (
    select max(as_of) as as_of from build_info
),

ranks as (
    select code, label, worker_type, sort_order from ref_codes where code_list = 'rank_grade'
),

worker_types as (
    select code, label from ref_codes where code_list = 'worker_type'
),

team_types as (
    select code, label, group_label from ref_codes where code_list = 'team_type'
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
        case when p.end_date <= a.as_of then p.end_date end as end_date,
        p.end_date as end_date_recorded,
        p.end_date is null or p.end_date > a.as_of as is_current,
        p.team_code,
        p.team_type,
        tt.label as team_type_label,
        coalesce(tt.group_label = 'High demand', false) as is_high_demand,
        p.line_manager_id
    from postings as p
    cross join as_of as a
    left join ranks as r on r.code = p.rank_grade
    left join worker_types as wt on wt.code = r.worker_type
    left join team_types as tt on tt.code = p.team_type
)

select * from final
