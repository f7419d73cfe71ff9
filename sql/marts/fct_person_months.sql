-- fct_person_months: person-time in post, the exposure behind every rate per person-year.
-- Grain: one row per posting spell per calendar month it overlaps (posting_id, month_start);
--        a person who moves mid-month has two rows that month, their exposure split by days.
-- Upstream: stg_postings, dim_person, dim_calendar.
-- Only time-varying columns live here (6M rows at the mps profile); fixed characteristics are
-- joined from dim_person at query time (metrics/queries.py), which keeps the build fast.
with postings as (
    select * from stg_postings
),

people as (
    select * from dim_person
),

calendar as (
    select * from dim_calendar
),

spells as (
    select
        posting_id,
        person_id,
        business_area_code,
        rank_grade,
        rank_label,
        start_date,
        coalesce(end_date, date '9999-12-31') as end_date
    from postings
),

-- Expand each spell to the months it touches with generate_series (linear in spells) rather than
-- a range join against the calendar (quadratic-ish: 44 s at the mps profile).
window_bounds as (
    select min(month_start) as first_month, max(month_start) as last_month, max(extract_date) as extract_date
    from calendar
),

expanded as (
    select
        s.*,
        unnest(generate_series(
            greatest(date_trunc('month', s.start_date)::date, w.first_month),
            least(date_trunc('month', s.end_date)::date, w.last_month),
            interval 1 month
        ))::date as month_start
    from spells as s
    cross join window_bounds as w
    where s.start_date <= w.extract_date
        and s.end_date >= w.first_month
),

spell_months as (
    select
        e.*,
        c.month_end,
        c.financial_year,
        greatest(e.start_date, c.month_start) as from_date,
        least(e.end_date, c.month_end_in_window) as to_date,
        e.end_date >= c.month_end_in_window as is_in_post_at_month_end
    from expanded as e
    inner join calendar as c using (month_start)
),

final as (
    select
        o.posting_id,
        o.person_id,
        o.month_start,
        o.financial_year,
        o.business_area_code,
        o.rank_grade as rank_grade_code,
        o.rank_label as rank_grade,
        p.worker_type_code,
        p.worker_type,
        -- whole days: integer sums are exact and deterministic, unlike a parallel sum of doubles
        date_diff('day', o.from_date, o.to_date) + 1 as exposure_days,
        (date_diff('day', o.from_date, o.to_date) + 1) / 365.25 as exposure_years,
        o.is_in_post_at_month_end,
        case
            when year(o.month_start) - p.birth_year < 25 then 'Under 25'
            when year(o.month_start) - p.birth_year < 35 then '25-34'
            when year(o.month_start) - p.birth_year < 45 then '35-44'
            when year(o.month_start) - p.birth_year < 55 then '45-54'
            else '55 and over'
        end as age_band,
        case
            when date_diff('month', p.join_date, o.month_start) < 24 then 'Under 2 years'
            when date_diff('month', p.join_date, o.month_start) < 60 then '2-4 years'
            when date_diff('month', p.join_date, o.month_start) < 120 then '5-9 years'
            when date_diff('month', p.join_date, o.month_start) < 240 then '10-19 years'
            else '20 years and over'
        end as service_band
    from spell_months as o
    inner join people as p using (person_id)
)

select * from final
