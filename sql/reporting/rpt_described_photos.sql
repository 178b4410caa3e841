-- Photos that carry descriptions, split by whether their dataset only teaches (training_only_datasets:
-- never evaluated, never in the catalogue) or belongs to the service: how many photos, descriptions,
-- and from which datasets. The report says from this what the training-only photos add.
select
    p.dataset in (select dataset from training_only_datasets) as teaching_only,
    count(distinct p.image) as photos,
    count(*) as descriptions,
    string_agg(distinct p.dataset, ', ' order by p.dataset) as datasets
from photos p
join stg_texts t on t.image = p.image and t.is_description
group by all
