-- How crowd and experts relate on the pairs both judged (2329 on the full data): the crowd's yes-share
-- per expert mean score, and the overall correlation. Backs the blend in train_targets.
with expert as (
    select * from stg_expert
),

crowd as (
    select * from stg_crowd
),

both_judged as (
    select e.image, e.query_id, e.expert_mean_01, c.share_yes, e.is_own_query
    from expert e
    join crowd c using (image, query_id)
),

by_expert_mean as (
    select
        round(expert_mean_01 * 3) / 3 as expert_mean_01,   -- back on the 1..4 grid: 0, 1/3, 2/3, 1
        count(*) as n_pairs,
        avg(share_yes) as avg_share_yes,
        avg(case when share_yes >= 0.5 then 1.0 else 0.0 end) as share_majority_yes
    from both_judged
    group by 1
),

final as (
    select
        b.*,
        (select corr(expert_mean_01, share_yes) from both_judged) as pearson_all,
        (select count(*) from both_judged) as n_both
    from by_expert_mean b
)

select * from final order by expert_mean_01
