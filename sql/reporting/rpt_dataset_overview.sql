-- What the database holds, one row per measure: photos, texts, judged pairs and quarantined rows
-- (the report's opening numbers).
select 'photos' as measure, count(*) as value from photos
union all select 'texts', count(*) from texts
union all select 'expert pairs', count(*) from expert_annotations
union all select 'crowd pairs', count(*) from crowd_annotations
union all select 'quarantined rows', count(*) from quarantine
