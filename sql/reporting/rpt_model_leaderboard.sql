-- One row per model name (its newest training): out-of-fold agreement with people and retrieval on
-- held-out photos (cv_*), and the test queries scored once (test_*). The active model serves users.
with models as (
    select * from models
),

metrics as (
    select * from model_metrics
),

newest as (
    select *
    from models
    qualify row_number() over (partition by name order by trained_at desc) = 1
),

pivoted as (
    select
        model_id,
        max(value) filter (where split = 'cv' and metric = 'rmse') as cv_rmse,
        max(value) filter (where split = 'cv' and metric = 'tau_c') as cv_tau_c,
        max(value) filter (where split = 'cv' and metric = 'tau_b') as cv_tau_b,
        max(value) filter (where split = 'cv' and metric = 'r_at_1') as cv_r_at_1,
        max(value) filter (where split = 'cv' and metric = 'r_at_5') as cv_r_at_5,
        max(value) filter (where split = 'cv' and metric = 'r_at_10') as cv_r_at_10,
        max(value) filter (where split = 'cv' and metric = 'mrr') as cv_mrr,
        max(value) filter (where split = 'test' and metric = 'r_at_1') as test_r_at_1,
        max(value) filter (where split = 'test' and metric = 'r_at_5') as test_r_at_5,
        max(value) filter (where split = 'test' and metric = 'r_at_10') as test_r_at_10,
        max(value) filter (where split = 'test' and metric = 'mrr') as test_mrr,
        max(value) filter (where split = 'test' and metric = 'median_rank') as test_median_rank
    from metrics
    group by model_id
),

final as (
    select
        n.name,
        n.kind,
        n.is_active,
        p.* exclude (model_id),
        n.seconds,
        n.model_id,
        n.image_encoder,
        n.text_encoder,
        n.trained_at
    from newest n
    left join pivoted p using (model_id)
)

select * from final order by is_active desc, cv_mrr desc nulls last
