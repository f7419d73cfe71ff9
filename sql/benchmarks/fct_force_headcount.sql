-- fct_force_headcount: police officer headcount at 31 March by force, rank group and ethnic group.
-- Grain: year, force, rank, ethnicity_group (unique). rank is each published rank and "All ranks",
--        which exists only for force-years whose table has every rank (the chief-officer table
--        alone has no "All ranks"). Sexes are summed.
-- Upstream: stg_ho_workforce.
-- For each year and force, "All ranks" equals the sum over the ranks (tests/metrics/test_benchmarks.py).
with workforce as (
    select * from stg_ho_workforce
),

by_rank as (
    select year, "force", rank, min(rank_order) as rank_order, ethnicity_group,
           sum(headcount)::bigint as headcount,
           bool_or(is_post_2021_category) as is_post_2021_category
    from workforce
    group by all
),

full_tables as (
    -- force-years published with more than the chief officer rank
    select year, "force" from workforce group by all having count(distinct rank) > 1
),

all_ranks as (
    select b.year, b.force, 'All ranks' as rank, 0 as rank_order, b.ethnicity_group,
           sum(b.headcount)::bigint as headcount, bool_or(b.is_post_2021_category) as is_post_2021_category
    from by_rank as b
    inner join full_tables as t using (year, "force")
    group by all
),

combined as (
    select * from by_rank
    union all by name
    select * from all_ranks
),

final as (
    select
        year, "force", rank, rank_order, ethnicity_group, headcount,
        -- one category scheme per force-year (the 2021 rows of a force use the new categories)
        bool_or(is_post_2021_category) over (partition by year, "force") as is_post_2021_category
    from combined
)

select * from final
