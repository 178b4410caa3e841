-- One row per graded (photo, text) pair with the training target in [0, 1].
--
-- target = expert mean when only experts judged the pair,
--          crowd share when only the crowd did,
--          (2 * expert mean + crowd share) / 3 when both did.
-- Why: experts grade on a 4-step scale (finer than the crowd's yes/no from 3 workers), so they lead
-- where present; on the pairs both judged, crowd share rises steadily with the expert mean
-- (rpt_crowd_vs_expert), so the crowd is a noisier measure of the same thing and is blended in.
-- The expert scale 1..4 is mapped to 0..1 in stg_expert: (score - 1) / 3.
with expert as (
    select * from stg_expert
),

crowd as (
    select * from stg_crowd
),

pairs as (
    select
        coalesce(e.image, c.image) as image,
        coalesce(e.query_id, c.query_id) as query_id,
        e.expert_mean_01,
        c.share_yes
    from expert e
    full outer join crowd c using (image, query_id)
),

final as (
    select
        image,
        query_id as text_id,
        split_part(query_id, '#', 1) as text_image,     -- the photo the text was written for
        split_part(query_id, '#', 1) = image as is_own_text,
        expert_mean_01,
        share_yes,
        case
            when expert_mean_01 is not null and share_yes is not null
                then (2 * expert_mean_01 + share_yes) / 3
            when expert_mean_01 is not null then expert_mean_01
            else share_yes
        end as target,
        case
            when expert_mean_01 is not null and share_yes is not null then 'both'
            when expert_mean_01 is not null then 'expert'
            else 'crowd'
        end as target_source
    from pairs
)

select * from final
