-- Retrieval quality of each model's stored test scores (500 test queries x 100 test photos), the way
-- the training job measures it (a tie counts against the model), with the children rule off and on.
-- policy 'on': queries that get the disclaimer are left out (n_queries says how many remain); for the
-- rest, the rank counts only photos a user would see, and a hidden relevant photo counts as a miss.
with matches as (
    select m.*
    from rpt_top_matches m
    where m.query_set = 'test' and m.photo_set = 'test'
),

queries as (
    select
        run_id,
        model_id,
        query_id,
        bool_or(hidden_reason = 'the query asks for photos of children') as disclaimer
    from matches
    group by all
),

relevant as (
    select q.*, m.score as own_score, coalesce(m.shown, false) as own_shown
    from queries q
    join stg_texts t on t.text_id = q.query_id
    left join matches m on m.run_id = q.run_id and m.query_id = q.query_id and m.image = t.image
),

ranked as (
    select
        r.model_id,
        r.query_id,
        r.disclaimer,
        -- every photo scored at least as high as the right one ranks ahead of it
        case when r.own_score is not null then
            count(*) filter (where m.score >= r.own_score) end as rank_off,
        case when r.own_score is not null and r.own_shown then
            count(*) filter (where m.score >= r.own_score and m.shown) end as rank_on
    from relevant r
    join matches m on m.run_id = r.run_id and m.query_id = r.query_id
    group by r.model_id, r.query_id, r.disclaimer, r.own_score, r.own_shown
),

per_policy as (
    select model_id, 'off' as policy, rank_off as rank from ranked
    union all
    select model_id, 'on', rank_on from ranked where not disclaimer
)

select
    model_id,
    policy,
    avg(case when rank <= 1 then 1 else 0 end) as r_at_1,
    avg(case when rank <= 5 then 1 else 0 end) as r_at_5,
    avg(case when rank <= 10 then 1 else 0 end) as r_at_10,
    avg(coalesce(1.0 / rank, 0)) as mrr,
    count(*) as n_queries
from per_policy
group by model_id, policy
order by model_id, policy
