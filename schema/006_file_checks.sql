-- Photo files are checked by every nightly: 'missing' (gone from disk) and 'changed' (content differs
-- from the ingested sha256) keep a photo out of search, scores and the report until the file returns.
-- DuckDB cannot alter a CHECK constraint, so the table is rebuilt with the same columns.
alter table photos rename to photos_005;

create table photos (
    image       varchar primary key,
    split       varchar not null check (split in ('train', 'test')),
    dataset     varchar not null,
    sha256      varchar not null,
    bytes       bigint not null,
    width       integer not null,
    height      integer not null,
    format      varchar not null,
    status      varchar not null check (status in ('ok', 'missing', 'changed')),
    path        varchar not null,
    job_run_id  varchar not null
);

insert into photos (image, split, dataset, sha256, bytes, width, height, format, status, path, job_run_id)
select image, split, dataset, sha256, bytes, width, height, format, status, path, job_run_id
from photos_005;

drop table photos_005;

-- A failed run's traceback, written beside the database (<db>.logs/<run_id>.log).
alter table job_runs add column log_path varchar;
