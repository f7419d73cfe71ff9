-- fct_person_months: person-time in post, the exposure behind every rate per person-year.
-- Grain: one row per posting spell per calendar month it overlaps (posting_id, month_start);
--        a person who moves mid-month has two rows that month, their exposure split by days.
-- Upstream: stg_postings, dim_person, dim_calendar.
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

spell_months as (
    select
        s.*,
        c.month_start,
        c.month_end,
        c.financial_year,
        greatest(s.start_date, c.month_start) as from_date,
        least(s.end_date, c.month_end_in_window) as to_date,
        s.end_date >= c.month_end_in_window as is_in_post_at_month_end
    from spells as s
    inner join calendar as c
        on s.start_date <= c.month_end_in_window
        and s.end_date >= c.month_start
),

final as (
    select
        o.posting_id,
        o.person_id,
        o.month_start,
        o.financial_year,
        o.business_area_code,
        o.rank_grade,
        o.rank_label,
        p.worker_type_code,
        p.worker_type,
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
        end as service_band,
        p.sex,
        p.ethnicity,
        p.ethnicity_group,
        p.is_black_asian_mixed_other,
        p.ethnicity_sex,
        p.disability,
        p.gender_reassignment,
        p.marital_status,
        p.pregnancy_maternity,
        p.religion,
        p.sexual_orientation
    from spell_months as o
    inner join people as p using (person_id)
)

select * from final
