-- fct_acting_up: every acting-up decision with the candidate's characteristics (IOPC rec. 15).
-- Grain: decision_id (unique).
-- Upstream: stg_acting_up, int_event_characteristics.
with decisions as (
    select * from stg_acting_up
),

characteristics as (
    select * from int_event_characteristics where event = 'acting_up'
),

final as (
    select
        d.decision_id,
        d.person_id,
        d.business_area_code,
        d.decision_date,
        date_trunc('month', d.decision_date)::date as decision_month,
        d.substantive_rank,
        d.substantive_rank_label,
        d.acting_rank,
        d.acting_rank_label,
        d.substantive_rank_label || ' to ' || d.acting_rank_label as step,
        d.is_selected,
        d.duration_days,
        d.is_qualified,
        d.has_rationale,
        -- the rank a candidate acts up from is their substantive rank on the decision
        c.* exclude (event, event_id) replace (d.substantive_rank_label as rank_grade)
    from decisions as d
    inner join characteristics as c on c.event_id = d.decision_id
)

select * from final
