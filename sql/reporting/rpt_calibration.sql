-- Is a score of 0.7 worth 0.7? Per model, its out-of-fold scores of the judged pairs cut into ten
-- equal-count bins: the mean score against the mean target in each. A calibrated model sits on the
-- diagonal, so one threshold means the same for every query.
with oof as (
    select * from model_oof
),

binned as (
    select model_id, score, target, ntile(10) over (partition by model_id order by score) as bin
    from oof
)

select
    b.model_id,
    m.name,
    b.bin,
    count(*) as n_pairs,
    avg(b.score) as mean_score,
    avg(b.target) as mean_target
from binned b
join models m using (model_id)
group by all
order by b.model_id, b.bin
