-- fct_recruitment_funnel: every officer application and how far it got, by applicant group.
-- Grain: application_id (unique).
-- Upstream: stg_applications, int_ethnicity_sex, dim_calendar.
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

ethnicity_sex as (
    select * from int_ethnicity_sex
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
        entry_route,
        sex,
        ethnicity,
        ethnicity_group,
        es.is_black_asian_mixed_other,
        es.ethnicity_sex,
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
    left join ethnicity_sex as es using (ethnicity_group, sex)
    cross join extract as e
)

select * from final
