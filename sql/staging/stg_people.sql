-- stg_people: one row per person with every protected characteristic as its reporting label.
-- Grain: person_id (unique).
-- Upstream: raw_people, ref_codes, build_info.
-- A leave date after the as-of date (a planned leaving) means still in post at the as-of date:
-- leave_date and leaving_reason are null, the recorded date stays in leave_date_recorded.
-- Convention for person characteristics: the label takes the plain name (sex = 'Female') because
-- it is the group every metric table reports; the source code is kept as <name>_code.
-- Labels match metrics/config.py CHARACTERISTICS reference groups (White, Male, Not disabled, ...).
with people as (
    select * from raw_people
),

as_of as (
    select max(as_of) as as_of from build_info
),

codes as (
    select code_list, code, label, group_label from ref_codes
),

final as (
    select
        p.person_id,
        p.worker_type as worker_type_code,
        wt.label as worker_type,
        p.sex as sex_code,
        sx.label as sex,
        p.birth_year,
        p.ethnicity_code,
        eth.label as ethnicity,
        eth.group_label as ethnicity_group,
        p.disability as disability_code,
        case p.disability when 'Y' then 'Disabled' when 'N' then 'Not disabled' when 'NS' then 'Not stated' end as disability,
        p.gender_reassignment as gender_reassignment_code,
        gr.label as gender_reassignment,
        p.marital_status as marital_status_code,
        ms.label as marital_status,
        p.pregnancy_maternity as pregnancy_maternity_code,
        pm.label as pregnancy_maternity,
        p.religion as religion_code,
        rel.label as religion,
        p.caring_responsibilities as caring_responsibilities_code,
        -- blank (or absent from an older extract) is not stated
        coalesce(cr.label, 'Not stated') as caring_responsibilities,
        p.sexual_orientation as sexual_orientation_code,
        so.label as sexual_orientation,
        p.join_date,
        case when p.leave_date <= a.as_of then p.leave_date end as leave_date,
        p.leave_date as leave_date_recorded,
        case when p.leave_date <= a.as_of then p.leaving_reason end as leaving_reason_code,
        case when p.leave_date <= a.as_of then lr.label end as leaving_reason,
        p.leave_date is not null and p.leave_date <= a.as_of as has_left
    from people as p
    cross join as_of as a
    left join codes as wt on wt.code_list = 'worker_type' and wt.code = p.worker_type
    left join codes as sx on sx.code_list = 'sex' and sx.code = p.sex
    left join codes as eth on eth.code_list = 'ethnicity' and eth.code = p.ethnicity_code
    left join codes as gr on gr.code_list = 'yes_no_ns' and gr.code = p.gender_reassignment
    left join codes as ms on ms.code_list = 'marital_status' and ms.code = p.marital_status
    left join codes as pm on pm.code_list = 'yes_no_ns' and pm.code = p.pregnancy_maternity
    left join codes as rel on rel.code_list = 'religion' and rel.code = p.religion
    left join codes as so on so.code_list = 'sexual_orientation' and so.code = p.sexual_orientation
    left join codes as cr on cr.code_list = 'caring_responsibilities' and cr.code = p.caring_responsibilities
    left join codes as lr on lr.code_list = 'leaving_reason' and lr.code = p.leaving_reason
)

select * from final
