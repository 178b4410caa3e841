-- The children rule in numbers, one row per measure: queries that get the disclaimer and what decided
-- it (vocabulary or classifier), photos flagged by each source, consents, hidden photos; the query
-- check's recall and false alarms per language on the held-out labelled queries (nested
-- cross-validation), and the pixel classifier's threshold and held-out quality, from the latest policy
-- run. Long format so that a new measure is a new row, not a new column.
with queries as (
    select
        t.text_id,
        case when t.is_test_query then 'test' else 'train' end as split,
        f.source
    from stg_texts t
    left join policy_flags f on f.entity_kind = 'query' and f.entity_id = t.text_id
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
select 'queries', split || ' queries asking for children (disclaimer)', count_if(source is not null)::double
from queries group by split
union all
select 'queries', split || ' queries flagged by the ' || source, count(*)::double
from queries where source is not null group by split, source
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
select case when metric like 'query_%' then 'query check' else 'pixel classifier' end,
       case when metric like 'query_%' then substr(metric, 7) else metric end, value
from classifier
order by category, measure
