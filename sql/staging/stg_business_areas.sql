-- stg_business_areas: business areas with their type label.
-- Grain: business_area_code (unique).
-- Upstream: raw_business_areas, ref_codes.
-- Kept: the business-area lists of the dashboard, `eqdash table --area` and the SPOC packs read it.
-- Convention for non-person code columns: the code keeps its name, its label is <name>_label.
with business_areas as (
    select * from raw_business_areas
),

area_types as (
    select code, label from ref_codes where code_list = 'area_type'
),

final as (
    select
        b.business_area_code,
        b.business_area_name,
        b.area_type,
        t.label as area_type_label,
        b.area_type = 'BCU' as is_bcu,
        b.spoc_person_id,
        b.force_name
    from business_areas as b
    left join area_types as t on t.code = b.area_type
)

select * from final
