-- stg_census_population: 2011 Census usual residents by police force area and broad ethnic group,
-- the area named as the Home Office names the force.
-- Grain: force (unique): one row per police force area.
-- Upstream: raw_census_population.
with census as (
    select * from raw_census_population
),

final as (
    select
        case force_area
            when 'City of London' then 'London, City of'
            when 'Metropolitan' then 'Metropolitan Police'
            else force_area
        end as force,
        white, black, asian, chinese, mixed, other,
        white + black + asian + chinese + mixed + other as total
    from census
)

select * from final
