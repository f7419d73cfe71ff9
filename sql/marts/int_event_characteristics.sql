-- int_event_characteristics: the person at each event, as every event fact reports them: worker
-- type, then rank, age band and service band as at the event's month ('Not in post' when not in
-- post that month), then every characteristic dim_person holds.
-- Grain: event, event_id (unique).
-- Upstream: int_events, dim_person, int_event_as_at.
-- The facts take these columns with `c.* exclude (event, event_id)`: a characteristic added to
-- dim_person reaches fct_grievance_outcomes, fct_misconduct_referrals and fct_acting_up unedited.
-- Events whose person is not in dim_person have no row (the facts inner-join it).
with events as (
    select * from int_events
),

people as (
    -- dim_person less what is not a reported characteristic: codes, birth year, dates, leaving
    select * exclude (worker_type_code, birth_year, ethnicity_code, join_date, leave_date, leaving_reason)
    from dim_person
),

as_at as (
    select * from int_event_as_at
),

final as (
    select
        e.event,
        e.event_id,
        p.worker_type,
        coalesce(a.rank_label, 'Not in post') as rank_grade,
        coalesce(a.age_band, 'Not in post') as age_band,
        coalesce(a.service_band, 'Not in post') as service_band,
        p.* exclude (person_id, worker_type)
    from events as e
    inner join people as p using (person_id)
    left join as_at as a using (event, event_id)
)

select * from final
