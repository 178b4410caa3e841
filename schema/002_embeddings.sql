-- Vectors per encoder version, so two versions coexist until a swap. Fixed-size arrays let
-- similarity run in SQL (array_cosine_similarity) as well as in numpy.
-- All EfficientNet-Lite variants pool to 1280 features; MiniLM-L6 gives 384. An encoder with
-- another width needs a new migration.

create table image_embeddings (
    image       varchar not null,
    encoder     varchar not null,        -- encoder version, e.g. effnet-lite2/v1
    dim         integer not null,
    sha256      varchar not null,        -- content hash of the photo that was embedded
    vector      float[1280] not null,    -- pooled features, as the network gives them
    job_run_id  varchar not null,
    primary key (image, encoder)
);

create table image_labels (
    image       varchar not null,
    encoder     varchar not null,
    rank        tinyint not null,        -- 1 = most probable
    label_index smallint not null,       -- ImageNet-1k class index
    label       varchar not null,        -- human-readable class name
    prob        float not null,          -- softmax probability
    job_run_id  varchar not null,
    primary key (image, encoder, rank)
);

create table text_embeddings (
    text_id     varchar not null,
    encoder     varchar not null,        -- e.g. minilm-l6-v2/v1
    dim         integer not null,
    text_sha256 varchar not null,        -- hash of the text that was embedded
    vector      float[384] not null,     -- mean-pooled, L2-normalised
    job_run_id  varchar not null,
    primary key (text_id, encoder)
);
