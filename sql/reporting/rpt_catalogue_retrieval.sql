-- What a photographer meets: each test query ranked against the whole catalogue, not only the 100
-- test photos. From the scores of `ws score --queries test --photos all` (the nightly writes them).
-- scope 'catalogue': the service's photos (every dataset except training_only_datasets: with-sense
-- and extra-photos); scope 'all photos': every stored photo. No children rule here (see
-- rpt_retrieval_metrics for it); a tie counts against the model; a right photo that was not among the
-- scored candidates counts as a miss.
with scored as (
    select s.run_id, s.model_id, s.query_id, s.image, s.score,
           p.dataset not in (select dataset from training_only_datasets) as in_catalogue
    from scores s
    join score_runs r using (run_id)
    join photos p using (image)
    where r.query_set = 'test' and r.photo_set = 'all'
),

own as (
    select s.run_id, s.model_id, s.query_id, s.score as own_score
    from scored s
    join stg_texts t on t.text_id = s.query_id and t.image = s.image
),

queries as (
    select distinct s.run_id, s.model_id, s.query_id
    from scored s
),

ranked as (
    select
        q.model_id,
        q.query_id,
        case when o.own_score is not null then
            count(s.image) filter (where s.score >= o.own_score and s.in_catalogue) end as rank_catalogue,
        case when o.own_score is not null then
            count(s.image) filter (where s.score >= o.own_score) end as rank_all
    from queries q
    left join own o on o.run_id = q.run_id and o.query_id = q.query_id
    join scored s on s.run_id = q.run_id and s.query_id = q.query_id
    group by q.model_id, q.query_id, o.own_score
),

per_scope as (
    select model_id, 'catalogue' as scope, rank_catalogue as rank from ranked
    union all
    select model_id, 'all photos', rank_all from ranked
)

select
    model_id,
    scope,
    (select count(*) from photos p where scope = 'all photos'
        or p.dataset not in (select dataset from training_only_datasets)) as n_photos,
    avg(case when rank <= 1 then 1 else 0 end) as r_at_1,
    avg(case when rank <= 5 then 1 else 0 end) as r_at_5,
    avg(case when rank <= 10 then 1 else 0 end) as r_at_10,
    avg(coalesce(1.0 / rank, 0)) as mrr,
    count(*) as n_queries
from per_scope
group by model_id, scope
order by model_id, scope
