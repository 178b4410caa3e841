-- Precomputed query-photo scores of a model, per scoring run. A new run for the same (model, query
-- set, photo set) replaces the previous one's rows in one transaction.

create table score_runs (
    run_id      varchar primary key,          -- the job run that wrote it
    model_id    varchar not null,
    query_set   varchar not null,             -- test, train, descriptions
    photo_set   varchar not null,             -- test, train, all
    n_queries   integer not null,
    n_photos    integer not null,
    candidates  integer not null,             -- photos re-ranked per query (= n_photos: all scored)
    created_at  timestamp not null
);

create table scores (
    run_id    varchar not null,
    model_id  varchar not null,
    query_id  varchar not null,               -- texts.text_id
    image     varchar not null,
    score     double not null check (score between 0 and 1),
    rank      integer not null,               -- 1 = best for the query; ties broken by image name
    primary key (run_id, query_id, image)
);

-- Out-of-fold scores of every judged pair, per model: what calibration and error analyses read.
create table model_oof (
    model_id  varchar not null,
    image     varchar not null,
    text_id   varchar not null,
    score     double not null,
    target    double not null,
    primary key (model_id, image, text_id)
);
