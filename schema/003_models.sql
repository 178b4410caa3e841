-- Model registry: every trained scorer, its hyperparameters, inputs and metrics.

create table models (
    model_id         varchar primary key,      -- <name>-<job run id>
    name             varchar not null,         -- leaderboard name: linear, mlp, pair_mlp, ...
    kind             varchar not null,         -- scorer class: linear, mlp, label_bridge, pair, ...
    params           varchar not null,         -- hyperparameters as JSON
    image_encoder    varchar not null,
    text_encoder     varchar not null,
    data_fingerprint varchar not null,         -- hash of targets, descriptions and photo contents
    folds            integer not null,
    seed             integer not null,
    trained_at       timestamp not null,
    seconds          double,                   -- cross-validation and final fit
    artifact         varchar not null,         -- file with the weights (torch.save, tensors only)
    sha256           varchar not null,         -- of the artifact
    is_active        boolean not null default false,
    job_run_id       varchar not null
);

create table model_metrics (
    model_id  varchar not null,
    split     varchar not null check (split in ('cv', 'test')),
    metric    varchar not null,   -- rmse, tau_c, tau_b, r_at_1, r_at_5, r_at_10, mrr, median_rank
    value     double,
    primary key (model_id, split, metric)
);
