-- Crowd judgments, one row per (photo, query): share of workers who said the text fits the photo.
with source as (
    select * from crowd_annotations
),

final as (
    select
        image,
        query_id,
        split_part(query_id, '#', 1) as query_image,
        share_yes,                                        -- already 0..1
        n_yes,
        n_no,
        n_yes + n_no as n_votes,
        split_part(query_id, '#', 1) = image as is_own_query
    from source
)

select * from final
