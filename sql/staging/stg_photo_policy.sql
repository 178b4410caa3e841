-- Per photo: is it flagged as possibly showing a child, by what, is there a valid consent, and is it
-- hidden in the 'default' region (search applies the same rule for any --region in Python:
-- ws_core/policy.hidden_photos).
with photo_flags as (
    select
        entity_id as image,
        string_agg(source, ', ' order by source) as flag_sources,
        bool_or(source = 'description') as by_description,
        bool_or(source = 'pixels') as by_pixels,
        max(case when source = 'pixels' then score end) as pixel_score
    from policy_flags
    where entity_kind = 'photo' and flag = 'child'
    group by entity_id
),

valid_consents as (
    select image, min(consent_id) as consent_id
    from consents
    where revoked_at is null and scope in ('all', 'default')
    group by image
),

default_rule as (
    select coalesce(max(children_rule::int), 1) = 1 as applies
    from jurisdictions
    where region = 'default'
)

select
    p.image,
    p.split,
    p.status as file_status,
    f.image is not null as flagged,
    f.flag_sources,
    coalesce(f.by_description, false) as by_description,
    coalesce(f.by_pixels, false) as by_pixels,
    f.pixel_score,
    c.consent_id,
    (f.image is not null and c.consent_id is null and r.applies) as hidden
from photos p
left join photo_flags f on f.image = p.image
left join valid_consents c on c.image = p.image
cross join default_rule r
