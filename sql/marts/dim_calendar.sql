-- dim_calendar: the analysis window, one row per calendar month, with its financial year: the one
-- place the financial-year rule is written (models needing a date's year join the month).
-- Grain: month_start (unique).
-- Upstream: stg_grievances, stg_misconduct_cases, stg_applications, build_info.
-- The window runs from the first month with an event to the as-of date (build_info.as_of: the
-- extract date recorded with the extracts, the latest event date, or eqdash build --as-of). It is
-- never stretched by an end date: a posting ending 9999-12-31 or on a planned date is still open
-- at the as-of date (stg_postings, stg_people), and open cases are censored there.
with event_dates as (
    select raised_date as d from stg_grievances
    union all select outcome_date from stg_grievances
    union all select referral_date from stg_misconduct_cases
    union all select applied_date from stg_applications
),

as_of as (
    select max(as_of) as extract_date from build_info
),

bounds as (
    select
        date_trunc('month', least(min(e.d), any_value(a.extract_date)))::date as first_month,
        any_value(a.extract_date) as extract_date
    from event_dates as e
    cross join as_of as a
    where e.d is not null
),

months as (
    select unnest(generate_series(b.first_month, date_trunc('month', b.extract_date)::date, interval 1 month))::date as month_start,
           b.extract_date
    from bounds as b
),

with_year as (
    select
        month_start,
        (month_start + interval 1 month - interval 1 day)::date as month_end,
        least((month_start + interval 1 month - interval 1 day)::date, extract_date) as month_end_in_window,
        strftime(month_start, '%Y-%m') as month_label,
        -- UK financial year starts 1 April: FY2016 = 2016-04-01 .. 2017-03-31
        case when month(month_start) >= 4 then year(month_start) else year(month_start) - 1 end as financial_year,
        extract_date
    from months
),

final as (
    select
        *,
        make_date(financial_year, 4, 1) as financial_year_start,
        make_date(financial_year + 1, 3, 31) as financial_year_end
    from with_year
)

select * from final
