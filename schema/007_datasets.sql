-- Data folders whose photos only teach (descriptions for the bridges, the two-tower, the children
-- classifier) and are never held out in cross-validation nor counted as the service's catalogue:
-- more-photos reached us resized to 224 x 224, unlike the service's photos (shared/data/README.md).
-- Cross-validated numbers then speak of the service's own photos. Operators add rows by SQL.
create table training_only_datasets (
    dataset  varchar primary key,
    note     varchar
);

insert into training_only_datasets (dataset, note) values
    ('more-photos', 'Flickr8k photos resized to 224 x 224 before they reached us: training only');

-- The pixel classifier of a policy run, so that a photo outside the catalogue (`ws rate FILE`) is
-- judged by the same model: p = sigmoid(((x - feature_mean) / feature_scale) . coef + intercept).
create table policy_pixel_models (
    job_run_id     varchar primary key,
    image_encoder  varchar not null,
    feature_mean   float[] not null,
    feature_scale  float[] not null,
    coef           float[] not null,
    intercept      double not null,
    threshold      double not null
);
