-- dim_person: one row per person with every reportable characteristic as its display label.
-- Grain: person_id (unique).
-- Upstream: stg_people.
-- The labels are the groups every metric table reports ("Not stated" stays its own group).
with people as (
    select * from stg_people
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
        -- The force's aggregate term: Asian + Black + Mixed + Other, White minorities excluded.
        case
            when ethnicity_group in ('Asian', 'Black', 'Mixed', 'Other') then true
            when ethnicity_group = 'White' then false
        end as is_black_asian_mixed_other,
        case
            when ethnicity_group = 'Not stated' then 'Not stated'
            else ethnicity_group || ' ' || lower(sex)
        end as ethnicity_sex,
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
)

select * from final
