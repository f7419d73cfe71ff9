-- stg_applications: officer applications with applicant labels and the stage each passed.
-- Grain: application_id (unique).
-- Upstream: raw_applications, ref_codes.
-- sex and ethnicity follow the person convention (label under the plain name, code as _code);
-- stage_rank is the funnel position 1..7 (applied .. joined), and passed_<stage> = reached it.
with applications as (
    select * from raw_applications
),

codes as (
    select code_list, code, label, group_label, sort_order from ref_codes
),

final as (
    select
        a.application_id,
        a.person_id,
        a.applied_date,
        a.entry_route,
        er.label as entry_route_label,
        a.sex as sex_code,
        sx.label as sex,
        a.ethnicity_code,
        eth.label as ethnicity,
        eth.group_label as ethnicity_group,
        a.heard_via_outreach = 'Y' as has_heard_via_outreach,
        a.spoke_only_to_outreach = 'Y' as has_spoken_only_to_outreach,
        a.outreach_bcu_code,
        a.furthest_stage,
        st.label as furthest_stage_label,
        st.sort_order as stage_rank,
        st.sort_order >= 2 as passed_sift,
        st.sort_order >= 3 as passed_assessment,
        st.sort_order >= 4 as passed_vetting,
        st.sort_order >= 5 as passed_medical,
        st.sort_order >= 6 as passed_offer,
        st.sort_order >= 7 as passed_joined
    from applications as a
    left join codes as er on er.code_list = 'entry_route' and er.code = a.entry_route
    left join codes as sx on sx.code_list = 'sex' and sx.code = a.sex
    left join codes as eth on eth.code_list = 'ethnicity' and eth.code = a.ethnicity_code
    left join codes as st on st.code_list = 'recruitment_stage' and st.code = a.furthest_stage
)

select * from final
