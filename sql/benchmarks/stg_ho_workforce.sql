-- stg_ho_workforce: the Home Office police workforce table(s), police officers, with the rank's
-- display order and each ethnicity category mapped to the five groups and Not stated.
-- Grain: year, force, sex, rank, ethnicity (unique): one row per published cell (files already reconciled).
-- Upstream: raw_ho_workforce, ref_benchmark_codes.
with workforce as (
    select * from raw_ho_workforce
),

ethnicities as (
    select code, group_label from ref_benchmark_codes where code_list = 'ho_ethnicity'
),

ranks as (
    select code, label, sort_order from ref_benchmark_codes where code_list = 'ho_rank'
),

final as (
    select
        w.year,
        w.force_name as force,
        w.region,
        w.sex,
        w.rank,
        r.sort_order as rank_order,
        w.ethnicity,
        e.group_label as ethnicity_group,
        -- the 2021 edition replaced "Chinese or Other Ethnic Group" with "Other ethnic group"
        -- (Chinese moved to Asian): the census comparison has to follow the categories used
        w.ethnicity = 'Other ethnic group' as is_post_2021_category,
        w.headcount,
        w.fte,
        w.source_file
    from workforce as w
    inner join ethnicities as e on e.code = w.ethnicity
    inner join ranks as r on r.code = w.rank
    where w.worker_type = 'Police Officer'
)

select * from final
