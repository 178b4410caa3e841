-- A linear map from one text encoder's space into another's (ws_core/encoders/multilingual.py): a
-- non-English query, encoded by the multilingual USE v3, is carried into the space the scorers were
-- trained in. Fitted by `ws embed` on English descriptions embedded by both encoders.
create table text_maps (
    source_encoder  varchar not null,
    target_encoder  varchar not null,
    dims            integer not null,     -- the target's dimensions (weights: source dims x dims, row-major)
    weights         float[] not null,
    bias            float[] not null,
    alpha           double not null,      -- ridge strength chosen by leave-one-out error
    n_texts         integer not null,
    heldout_cosine  double,               -- mean cosine, map against target, on a tenth held out of the fit
    job_run_id      varchar not null,
    primary key (source_encoder, target_encoder)
);
