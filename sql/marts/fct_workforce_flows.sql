-- fct_workforce_flows: joiners, leavers and headcount per financial year, the inputs of the
-- representation trend and the stock-and-flow projection to 2030.
-- Grain: financial_year x worker_type_code x ethnicity_group x sex (unique).
-- Upstream: dim_person, dim_calendar.
-- headcount_start counts people in post on 1 April; leaver rates divide by it.
with people as (
    select * from dim_person
),

years as (
    select distinct financial_year, financial_year_start as fy_start, financial_year_end as fy_end
    from dim_calendar
),

groups as (
    select distinct worker_type_code, worker_type, ethnicity_group, sex from people
),

counted as (
    select
        y.financial_year,
        p.worker_type_code,
        p.ethnicity_group,
        p.sex,
        count(*) filter (where p.join_date <= y.fy_start and (p.leave_date is null or p.leave_date >= y.fy_start)) as n_headcount_start,
        count(*) filter (where p.join_date between y.fy_start and y.fy_end) as n_joiners,
        count(*) filter (where p.leave_date between y.fy_start and y.fy_end) as n_leavers,
        count(*) filter (where p.join_date <= y.fy_end and (p.leave_date is null or p.leave_date > y.fy_end)) as n_headcount_end
    from people as p
    cross join years as y
    group by all
),

final as (
    select
        y.financial_year,
        g.worker_type_code,
        g.worker_type,
        g.ethnicity_group,
        g.sex,
        coalesce(c.n_headcount_start, 0)::bigint as n_headcount_start,
        coalesce(c.n_joiners, 0)::bigint as n_joiners,
        coalesce(c.n_leavers, 0)::bigint as n_leavers,
        coalesce(c.n_headcount_end, 0)::bigint as n_headcount_end
    from years as y
    cross join groups as g
    left join counted as c
        on c.financial_year = y.financial_year
        and c.worker_type_code = g.worker_type_code
        and c.ethnicity_group = g.ethnicity_group
        and c.sex = g.sex
)

select * from final
