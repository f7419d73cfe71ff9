-- int_event_as_at: the person's rank, age band and service band at each grievance, misconduct
-- referral and acting-up decision, as at the event's month.
-- Grain: event, event_id (unique); event is 'grievance', 'misconduct_case' or 'acting_up'.
-- Upstream: int_events, fct_person_time.
-- As at the month: the posting with the most days in post that month, then posting_id (a posting
-- has one stretch in any month, so these are its days that month). No row: not in post that month.
with events as (
    select * from int_events
),

person_time as (
    select * from fct_person_time
),

event_months as (
    select
        event,
        event_id,
        person_id,
        date_trunc('month', event_date)::date as month_first,
        last_day(event_date) as month_last
    from events
),

final as (
    select
        e.event,
        e.event_id,
        pt.rank_grade as rank_label,
        pt.age_band,
        pt.service_band
    from event_months as e
    inner join person_time as pt
        on pt.person_id = e.person_id
        and pt.from_date <= e.month_last
        and pt.to_date >= e.month_first
    qualify row_number() over (
        partition by e.event, e.event_id
        order by date_diff('day', greatest(pt.from_date, e.month_first), least(pt.to_date, e.month_last)) desc,
                 pt.posting_id
    ) = 1
)

select * from final
