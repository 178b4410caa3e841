-- The children rule in numbers, one row per measure: queries that get the disclaimer, photos flagged
-- by each source, consents, hidden photos, and the pixel classifier's threshold and held-out quality
-- from the latest policy run. Long format so that a new measure is a new row, not a new column.
with queries as (
    select
        t.text_id,
        case when t.is_test_query then 'test' else 'train' end as split,
        exists (select 1 from policy_flags f
                where f.entity_kind = 'query' and f.entity_id = t.text_id) as asks_child
    from texts t
    where t.is_test_query or t.is_train_query
),

photos as (
    select * from stg_photo_policy
),

latest_run as (
    select job_run_id from policy_runs order by finished_at desc limit 1
),

classifier as (
    select m.metric, m.value
    from policy_metrics m
    join latest_run l using (job_run_id)
)

select 'queries' as category, split || ' queries' as measure, count(*)::double as value
from queries group by split
union all
select 'queries', split || ' queries asking for children (disclaimer)', count_if(asks_child)::double
from queries group by split
union all
select 'photos', split || ' photos', count(*)::double from photos group by split
union all
select 'photos', split || ' photos flagged by descriptions', count_if(by_description)::double
from photos group by split
union all
select 'photos', split || ' photos flagged by pixels', count_if(by_pixels)::double
from photos group by split
union all
select 'photos', split || ' photos flagged (any source)', count_if(flagged)::double
from photos group by split
union all
select 'photos', split || ' photos with a valid consent', count_if(consent_id is not null)::double
from photos group by split
union all
select 'photos', split || ' photos hidden (default region)', count_if(hidden)::double
from photos group by split
union all
select 'pixel classifier', metric, value from classifier
order by category, measure
