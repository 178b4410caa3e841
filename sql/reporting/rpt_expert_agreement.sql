-- How the three experts score and how often they agree, in one long table:
--   measure 'score'     value 1..4: how often each score was given (per expert and in all)
--   measure 'agreement' value: all three agree / two agree / all differ
--   measure 'spread'    value 0..3: max - min of the three scores
with expert as (
    select * from stg_expert
),

scores as (
    select 'score' as measure, cast(s.score as varchar) as value,
        count(*) filter (where s.expert = 1) as n_expert_1,
        count(*) filter (where s.expert = 2) as n_expert_2,
        count(*) filter (where s.expert = 3) as n_expert_3,
        count(*) as n
    from (
        select 1 as expert, expert_1 as score from expert
        union all select 2, expert_2 from expert
        union all select 3, expert_3 from expert
    ) s
    group by s.score
),

agreement as (
    select 'agreement' as measure,
        case
            when expert_1 = expert_2 and expert_2 = expert_3 then 'all three agree'
            when expert_1 = expert_2 or expert_2 = expert_3 or expert_1 = expert_3 then 'two agree'
            else 'all differ'
        end as value,
        null, null, null,
        count(*) as n
    from expert
    group by value
),

spread as (
    select 'spread' as measure, cast(score_spread as varchar) as value, null, null, null, count(*) as n
    from expert
    group by score_spread
),

combined as (
    select * from scores
    union all select * from agreement
    union all select * from spread
),

final as (
    select
        measure,
        value,
        n_expert_1,
        n_expert_2,
        n_expert_3,
        n,
        n / sum(n) over (partition by measure) as share   -- within the measure
    from combined
)

select * from final order by measure, value
