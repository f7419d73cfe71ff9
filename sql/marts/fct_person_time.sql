-- fct_person_time: person-time in post, the exposure behind every rate per person-year.
-- Grain: posting_id, from_date (unique): one row per posting spell and stretch of it over which
--        every reported attribute is constant. A spell is clipped to the analysis window (first month
--        to the extract date) and cut where the person's age band changes (1 January of the year
--        they turn 25, 35, 45 or 55: age is the calendar year minus the birth year) and where their
--        service band changes (the first of the month 2, 5, 10 or 20 years after the month they
--        joined). Cuts fall only on the first of a month, so a posting has one row in any month.
-- Upstream: stg_postings, dim_person, dim_calendar.
-- Exposure over any run of whole months is the days each row overlaps it (metrics/queries.py,
-- person_time): exactly the integer days a posting x month table gives, in 1/15 of the rows
-- (0.4M rather than 6.0M at the mps profile). Headcount on a date d: from_date <= d <= to_date.
-- Fixed characteristics are joined from dim_person at query time.
with postings as (
    select * from stg_postings
),

people as (
    select * from dim_person
),

calendar as (
    select * from dim_calendar
),

window_bounds as (
    select min(month_start) as first_month, max(extract_date) as extract_date
    from calendar
),

spells as (
    select
        s.posting_id,
        s.person_id,
        s.business_area_code,
        s.rank_grade,
        s.rank_label,
        p.worker_type_code,
        p.worker_type,
        p.birth_year,
        date_trunc('month', p.join_date)::date as join_month,
        greatest(s.start_date, w.first_month) as lo,
        -- a spell ends by the as-of date, and by the person's leave date if it was left open
        least(coalesce(s.end_date, date '9999-12-31'), coalesce(p.leave_date, date '9999-12-31'), w.extract_date) as hi
    from postings as s
    inner join people as p using (person_id)
    cross join window_bounds as w
),

-- Each spell's stretch starts: its first day and every band change inside it, in order. A date
-- listed twice (an age and a service band changing on the same first of January, or on the first
-- day) gives an empty stretch (to_date the day before from_date), dropped in final: cheaper than
-- list_distinct on every spell.
cuts as (
    select
        *,
        list_sort(list_filter([
            lo,
            make_date(birth_year + 25, 1, 1), make_date(birth_year + 35, 1, 1),
            make_date(birth_year + 45, 1, 1), make_date(birth_year + 55, 1, 1),
            (join_month + interval 24 month)::date, (join_month + interval 60 month)::date,
            (join_month + interval 120 month)::date, (join_month + interval 240 month)::date
        ], lambda d: d >= lo and d <= hi)) as starts
    from spells
    where lo <= hi
),

stretches as (
    select
        posting_id, person_id, business_area_code, rank_grade, rank_label, worker_type_code,
        worker_type, birth_year, join_month,
        unnest(starts) as from_date,
        -- each stretch ends the day before the next starts; the last ends with the spell
        unnest(list_append(list_transform(starts[2:], lambda d: (d - interval 1 day)::date), hi)) as to_date
    from cuts
),

final as (
    select
        posting_id,
        person_id,
        business_area_code,
        rank_grade as rank_grade_code,
        rank_label as rank_grade,
        worker_type_code,
        worker_type,
        from_date,
        to_date,
        -- whole days: integer sums are exact and deterministic, unlike a parallel sum of doubles
        date_diff('day', from_date, to_date) + 1 as exposure_days,
        case
            when year(from_date) - birth_year < 25 then 'Under 25'
            when year(from_date) - birth_year < 35 then '25-34'
            when year(from_date) - birth_year < 45 then '35-44'
            when year(from_date) - birth_year < 55 then '45-54'
            else '55 and over'
        end as age_band,
        case
            when date_diff('month', join_month, from_date) < 24 then 'Under 2 years'
            when date_diff('month', join_month, from_date) < 60 then '2-4 years'
            when date_diff('month', join_month, from_date) < 120 then '5-9 years'
            when date_diff('month', join_month, from_date) < 240 then '10-19 years'
            else '20 years and over'
        end as service_band
    from stretches
    where from_date <= to_date
)

select * from final
