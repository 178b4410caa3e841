-- Per input source, its latest read: rows read, loaded and quarantined, and the quarantine by reason.
-- reason_group blanks out the quoted and bracketed specifics so that like faults count together.
with files as (
    select * from ingest_files
),

runs as (
    select run_id, started_at from job_runs
),

quarantined as (
    select * from quarantine
),

latest_read as (
    select f.*, r.started_at as read_at
    from files f
    join runs r on r.run_id = f.job_run_id
    qualify row_number() over (partition by f.source order by r.started_at desc) = 1
),

reasons as (
    select
        job_run_id,
        source,
        regexp_replace(reason, '''[^'']*''|\((?:[^()]|\([^()]*\))*\)', '…', 'g') as reason_group,
        count(*) as n_rows,
        min(reason) as example_reason
    from quarantined
    group by all
),

final as (
    select
        l.source,
        l.kind,
        l.job_run_id,
        l.read_at,
        l.rows_read,
        l.rows_loaded,
        l.rows_quarantined,
        r.reason_group as reason,
        coalesce(r.n_rows, 0) as n_rows,
        r.example_reason
    from latest_read l
    left join reasons r on r.job_run_id = l.job_run_id and r.source = l.source
)

select * from final order by source, n_rows desc
