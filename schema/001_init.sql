-- Foundation tables: runs, raw inputs, quarantine. The analysts' contract: add columns, keep names.

create table job_runs (
    run_id      varchar primary key,
    job         varchar not null,
    started_at  timestamp not null,
    finished_at timestamp,
    -- running -> ok | failed; a run found still 'running' by a later job was killed: 'interrupted'
    status      varchar not null check (status in ('running', 'ok', 'failed', 'interrupted')),
    rows_in     bigint,
    rows_out    bigint,
    message     varchar
);

create table photos (
    image       varchar primary key,          -- file name, e.g. 1056338697_4f7d7ce270.jpg
    split       varchar not null check (split in ('train', 'test')),
    dataset     varchar not null,             -- name of the data folder it came from
    sha256      varchar not null,
    bytes       bigint not null,
    width       integer not null,
    height      integer not null,
    format      varchar not null,             -- as decoded (a PNG named .jpg says PNG)
    status      varchar not null check (status in ('ok')),
    path        varchar not null,             -- absolute path at ingest time
    job_run_id  varchar not null
);

create table texts (
    text_id         varchar primary key,      -- <photo>#<k>
    image           varchar not null,         -- the photo the text was written for
    text            varchar not null,
    -- roles; one text may have several (the train queries are also descriptions)
    is_train_query  boolean not null default false,
    is_description  boolean not null default false,
    is_test_query   boolean not null default false,
    job_run_id      varchar not null
);

create table expert_annotations (
    image       varchar not null,
    query_id    varchar not null,
    expert_1    tinyint not null check (expert_1 between 1 and 4),
    expert_2    tinyint not null check (expert_2 between 1 and 4),
    expert_3    tinyint not null check (expert_3 between 1 and 4),
    job_run_id  varchar not null,
    primary key (image, query_id)
);

create table crowd_annotations (
    image       varchar not null,
    query_id    varchar not null,
    share_yes   double not null check (share_yes between 0 and 1),
    n_yes       integer not null check (n_yes >= 0),
    n_no        integer not null check (n_no >= 0),
    job_run_id  varchar not null,
    primary key (image, query_id)
);

create table quarantine (
    job_run_id  varchar not null,
    source      varchar not null,             -- file (or photo folder) the row came from
    line_no     bigint,                       -- 1-based line in the file; null for photo files
    raw         varchar,                      -- the original text (long values cut, marked)
    reason      varchar not null
);

-- one row per input file read by an ingest run: what rpt_data_quality reports per source
create table ingest_files (
    job_run_id        varchar not null,
    source            varchar not null,
    kind              varchar not null,       -- expert, crowd, train_queries, ...
    sha256            varchar,
    rows_read         bigint not null,
    rows_loaded       bigint not null,
    rows_quarantined  bigint not null,
    primary key (job_run_id, source)
);
