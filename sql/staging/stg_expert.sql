-- Expert judgments, one row per (photo, query), on a 0..1 scale.
with source as (
    select * from expert_annotations
),

mapped as (
    select
        image,
        query_id,
        split_part(query_id, '#', 1) as query_image,      -- the photo the query was written for
        expert_1,
        expert_2,
        expert_3,
        -- expert 1..4 mapped to 0..1: (score - 1) / 3; 1 = no match at all, 4 = full match
        (expert_1 - 1) / 3.0 as expert_1_01,
        (expert_2 - 1) / 3.0 as expert_2_01,
        (expert_3 - 1) / 3.0 as expert_3_01
    from source
),

final as (
    select
        *,
        (expert_1_01 + expert_2_01 + expert_3_01) / 3 as expert_mean_01,
        -- true when the query is a description of this very photo (dropped by the tau-c protocol)
        query_image = image as is_own_query,
        greatest(expert_1, expert_2, expert_3) - least(expert_1, expert_2, expert_3) as score_spread
    from mapped
)

select * from final
