-- int_ethnicity_sex: the ethnic-group aggregate flag and the "ethnic group x sex" label, for every
-- ethnic group and sex: the one definition dim_person and fct_recruitment_funnel both join.
-- Grain: ethnicity_group, sex (unique).
-- Upstream: ref_codes, build_settings.
-- is_black_asian_mixed_other is the force's aggregate term: true for the groups in
-- build_settings.aggregate_groups (metrics/config.py AGGREGATE_GROUPS: Asian, Black, Mixed, Other),
-- false for White (White minorities excluded), null for Not stated. "Not stated" is one
-- ethnicity_sex group whatever the sex.
with groups as (
    select distinct group_label as ethnicity_group from ref_codes where code_list = 'ethnicity'
),

sexes as (
    select label as sex from ref_codes where code_list = 'sex'
),

settings as (
    select aggregate_groups from build_settings
),

final as (
    select
        g.ethnicity_group,
        s.sex,
        case
            when list_contains(st.aggregate_groups, g.ethnicity_group) then true
            when g.ethnicity_group = 'White' then false
        end as is_black_asian_mixed_other,
        case
            when g.ethnicity_group = 'Not stated' then 'Not stated'
            else g.ethnicity_group || ' ' || lower(s.sex)
        end as ethnicity_sex
    from groups as g
    cross join sexes as s
    cross join settings as st
)

select * from final
