-- Every stored score with what a user in the default region would see: a query that asks for
-- children shows the disclaimer instead of photos, and a photo flagged as possibly showing a child
-- without a consent is hidden, and so is a photo whose file is missing or changed on disk (until it
-- returns). shown_rank is the position among the photos actually shown.
with scored as (
    select s.*, r.query_set, r.photo_set
    from scores s
    join score_runs r using (run_id)
),

query_flags as (
    select distinct entity_id as query_id
    from policy_flags
    where entity_kind = 'query' and flag = 'child'
),

default_rule as (
    select coalesce(max(children_rule::int), 1) = 1 as applies
    from jurisdictions
    where region = 'default'
),

decided as (
    select
        s.run_id,
        s.model_id,
        s.query_set,
        s.photo_set,
        s.query_id,
        t.text as query_text,
        s.rank,
        s.image,
        s.score,
        case
            when q.query_id is not null and r.applies then 'the query asks for photos of children'
            when p.file_status <> 'ok' then 'the photo file is ' || p.file_status
            when p.hidden then 'the photo may show a child and has no parent''s consent'
        end as hidden_reason
    from scored s
    join stg_texts t on t.text_id = s.query_id
    left join query_flags q on q.query_id = s.query_id
    left join stg_photo_policy p on p.image = s.image
    cross join default_rule r
)

select
    query_id,
    query_text,
    rank,
    image,
    score,
    hidden_reason is null as shown,
    hidden_reason,
    case when hidden_reason is null then
        row_number() over (partition by model_id, query_set, photo_set, query_id, hidden_reason is null
                           order by rank)
    end as shown_rank,
    model_id,
    query_set,
    photo_set,
    run_id
from decided
