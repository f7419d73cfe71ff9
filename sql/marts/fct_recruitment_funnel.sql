-- fct_recruitment_funnel: every officer application and how far it got, by applicant group.
-- Grain: application_id (unique).
-- Upstream: stg_applications, dim_calendar.
-- Stages in order: applied -> sift -> assessment -> vetting -> medical -> offer -> joined; an
-- application's furthest stage implies it passed every earlier one, so each stage's pass rate has
-- the previous stage as denominator.
-- The extract records only the furthest stage so far, so an application made less than
-- DECISION_DAYS (365) before the extract date that has not joined may still progress: it is in
-- progress (is_in_progress), pending at the stage after its furthest, and counted neither as a
-- pass nor as a failure there. A year covers the whole process (joining follows applying by at
-- most about 11 months), so older applications are complete.
with applications as (
    select * from stg_applications
),

extract as (
    select max(extract_date) as extract_date from dim_calendar
),

final as (
    select
        application_id,
        person_id,
        applied_date,
        date_trunc('month', applied_date)::date as applied_month,
        case when month(applied_date) >= 4 then year(applied_date) else year(applied_date) - 1 end as financial_year,
        entry_route,
        sex,
        ethnicity,
        ethnicity_group,
        case
            when ethnicity_group in ('Asian', 'Black', 'Mixed', 'Other') then true
            when ethnicity_group = 'White' then false
        end as is_black_asian_mixed_other,
        case
            when ethnicity_group = 'Not stated' then 'Not stated'
            else ethnicity_group || ' ' || lower(sex)
        end as ethnicity_sex,
        has_heard_via_outreach,
        has_spoken_only_to_outreach,
        outreach_bcu_code,
        furthest_stage,
        stage_rank,
        stage_rank >= 2 as passed_sift,
        stage_rank >= 3 as passed_assessment,
        stage_rank >= 4 as passed_vetting,
        stage_rank >= 5 as passed_medical,
        stage_rank >= 6 as was_offered,
        stage_rank >= 7 as has_joined,
        stage_rank < 7 and applied_date > e.extract_date - interval 365 day as is_in_progress
    from applications
    cross join extract as e
)

select * from final
