-- dim_person: one row per person with every reportable characteristic as its display label.
-- Grain: person_id (unique).
-- Upstream: stg_people, int_ethnicity_sex.
-- The labels are the groups every metric table reports ("Not stated" stays its own group).
with people as (
    select * from stg_people
),

ethnicity_sex as (
    select * from int_ethnicity_sex
),

final as (
    select
        person_id,
        worker_type_code,
        worker_type,
        sex,
        birth_year,
        ethnicity_code,
        ethnicity,
        ethnicity_group,
        es.is_black_asian_mixed_other,
        es.ethnicity_sex,
        disability,
        gender_reassignment,
        marital_status,
        pregnancy_maternity,
        religion,
        caring_responsibilities,
        sexual_orientation,
        join_date,
        leave_date,
        leaving_reason
    from people
    left join ethnicity_sex as es using (ethnicity_group, sex)
)

select * from final
