-- int_events: every event a fact reports by the characteristics of the person it concerns: each
-- grievance raised, misconduct referral and acting-up decision, with its person and date.
-- Grain: event, event_id (unique); event is 'grievance', 'misconduct_case' or 'acting_up'.
-- Upstream: stg_grievances, stg_misconduct_cases, stg_acting_up.
with grievances as (
    select * from stg_grievances
),

cases as (
    select * from stg_misconduct_cases
),

decisions as (
    select * from stg_acting_up
),

final as (
    select 'grievance' as event, grievance_id as event_id, person_id, raised_date as event_date from grievances
    union all
    select 'misconduct_case', case_id, person_id, referral_date from cases
    union all
    select 'acting_up', decision_id, person_id, decision_date from decisions
)

select * from final
