-- Texts with their id split into the photo they describe and the description number.
with source as (
    select * from texts
),

final as (
    select
        text_id,
        image,
        cast(split_part(text_id, '#', 2) as integer) as k,
        text,
        length(text) as n_chars,
        is_train_query,
        is_description,
        is_test_query
    from source
)

select * from final
