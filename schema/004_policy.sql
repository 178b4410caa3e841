-- Children policy: the vocabulary that decides whether a text asks for children, the flags it and the
-- pixel classifier raise, parents' consents, where the rule applies, and the disclaimer users see.

-- One row per word or phrase. Matching is on whole words after normalisation (ws_core/policy), so
-- "kid" never fires inside "kidney" or "skidding". decision 'not_child' rows are matched first and
-- mask what they cover: that is how ambiguous forms are decided ("goat kid", "boyfriend").
-- match 'prefix' (Russian stems) matches any word that starts with the term.
create table policy_terms (
    term      varchar not null,
    lang      varchar not null check (lang in ('en', 'ru')),
    match     varchar not null default 'word' check (match in ('word', 'prefix')),
    decision  varchar not null check (decision in ('child', 'not_child')),
    note      varchar,
    primary key (term, lang)
);

insert into policy_terms (term, lang, match, decision, note) values
    ('child', 'en', 'word', 'child', null), ('children', 'en', 'word', 'child', null),
    ('childs', 'en', 'word', 'child', null), ('kid', 'en', 'word', 'child', null),
    ('kids', 'en', 'word', 'child', null), ('kiddo', 'en', 'word', 'child', null),
    ('kiddos', 'en', 'word', 'child', null), ('boy', 'en', 'word', 'child', null),
    ('boys', 'en', 'word', 'child', null), ('girl', 'en', 'word', 'child', 'also said of young women; counted as a child, the costly error is showing one'),
    ('girls', 'en', 'word', 'child', null), ('baby', 'en', 'word', 'child', null),
    ('babies', 'en', 'word', 'child', null), ('toddler', 'en', 'word', 'child', null),
    ('toddlers', 'en', 'word', 'child', null), ('infant', 'en', 'word', 'child', null),
    ('infants', 'en', 'word', 'child', null), ('newborn', 'en', 'word', 'child', null),
    ('newborns', 'en', 'word', 'child', null), ('tot', 'en', 'word', 'child', null),
    ('tots', 'en', 'word', 'child', null), ('teen', 'en', 'word', 'child', 'teens are 13-19; some are under 16'),
    ('teens', 'en', 'word', 'child', null), ('teenage', 'en', 'word', 'child', null),
    ('teenager', 'en', 'word', 'child', null), ('teenagers', 'en', 'word', 'child', null),
    ('preteen', 'en', 'word', 'child', null), ('preteens', 'en', 'word', 'child', null),
    ('tween', 'en', 'word', 'child', null), ('tweens', 'en', 'word', 'child', null),
    ('adolescent', 'en', 'word', 'child', null), ('adolescents', 'en', 'word', 'child', null),
    ('youngster', 'en', 'word', 'child', null), ('youngsters', 'en', 'word', 'child', null),
    ('youth', 'en', 'word', 'child', null), ('youths', 'en', 'word', 'child', null),
    ('schoolboy', 'en', 'word', 'child', null), ('schoolboys', 'en', 'word', 'child', null),
    ('schoolgirl', 'en', 'word', 'child', null), ('schoolgirls', 'en', 'word', 'child', null),
    ('schoolchild', 'en', 'word', 'child', null), ('schoolchildren', 'en', 'word', 'child', null),
    ('schoolkid', 'en', 'word', 'child', null), ('schoolkids', 'en', 'word', 'child', null),
    ('preschooler', 'en', 'word', 'child', null), ('preschoolers', 'en', 'word', 'child', null),
    ('kindergartner', 'en', 'word', 'child', null), ('kindergartners', 'en', 'word', 'child', null),
    ('kindergartener', 'en', 'word', 'child', null), ('kindergarteners', 'en', 'word', 'child', null),
    ('son', 'en', 'word', 'child', 'a son may be grown; counted as a child'), ('sons', 'en', 'word', 'child', null),
    ('daughter', 'en', 'word', 'child', null), ('daughters', 'en', 'word', 'child', null),
    ('grandson', 'en', 'word', 'child', null), ('grandsons', 'en', 'word', 'child', null),
    ('granddaughter', 'en', 'word', 'child', null), ('granddaughters', 'en', 'word', 'child', null),
    ('grandchild', 'en', 'word', 'child', null), ('grandchildren', 'en', 'word', 'child', null),
    ('little one', 'en', 'word', 'child', null), ('little ones', 'en', 'word', 'child', null),
    ('young one', 'en', 'word', 'child', null), ('young ones', 'en', 'word', 'child', null),
    -- decided not to be children
    ('boyfriend', 'en', 'word', 'not_child', 'a partner, not a child'),
    ('boyfriends', 'en', 'word', 'not_child', null),
    ('girlfriend', 'en', 'word', 'not_child', 'a partner, not a child'),
    ('girlfriends', 'en', 'word', 'not_child', null),
    ('young man', 'en', 'word', 'not_child', 'an adult; "young boy" still matches boy'),
    ('young men', 'en', 'word', 'not_child', null),
    ('young woman', 'en', 'word', 'not_child', 'an adult'),
    ('young women', 'en', 'word', 'not_child', null),
    ('young lady', 'en', 'word', 'not_child', null),
    ('young adult', 'en', 'word', 'not_child', null),
    ('young adults', 'en', 'word', 'not_child', null),
    ('goat kid', 'en', 'word', 'not_child', 'a young goat'),
    ('goats kid', 'en', 'word', 'not_child', 'a young goat ("goat''s kid" after normalisation)'),
    ('kid goat', 'en', 'word', 'not_child', 'a young goat'),
    ('kid goats', 'en', 'word', 'not_child', null),
    ('kid gloves', 'en', 'word', 'not_child', 'leather'),
    ('kid leather', 'en', 'word', 'not_child', 'leather'),
    ('baby blue', 'en', 'word', 'not_child', 'a colour'),
    ('kiddie', 'en', 'word', 'not_child', '"kiddie pool" names an object; a child in it is named too'),
    ('soon', 'en', 'word', 'not_child', 'guards the doubled-letter fallback (s-oo-n is not son)'),
    ('toot', 'en', 'word', 'not_child', 'guards the doubled-letter fallback'),
    -- Russian: stems where every word that starts with them means a child, words otherwise
    ('ребён', 'ru', 'prefix', 'child', 'ребёнок, ребенка, ...: terms are normalised like texts, ё as е'),
    ('ребят', 'ru', 'prefix', 'child', 'ребята, ребятишки'),
    ('дети', 'ru', 'word', 'child', null), ('детей', 'ru', 'word', 'child', null),
    ('детям', 'ru', 'word', 'child', null), ('детьми', 'ru', 'word', 'child', null),
    ('детях', 'ru', 'word', 'child', null), ('детишк', 'ru', 'prefix', 'child', null),
    ('детск', 'ru', 'prefix', 'child', 'детский, детская площадка: asks for children''s scenes'),
    ('малыш', 'ru', 'prefix', 'child', null), ('младен', 'ru', 'prefix', 'child', null),
    ('новорожден', 'ru', 'prefix', 'child', null), ('карапуз', 'ru', 'prefix', 'child', null),
    ('мальчик', 'ru', 'prefix', 'child', null), ('мальчиш', 'ru', 'prefix', 'child', null),
    ('девочк', 'ru', 'prefix', 'child', null), ('девчонк', 'ru', 'prefix', 'child', null),
    ('девчушк', 'ru', 'prefix', 'child', null),
    ('школьни', 'ru', 'prefix', 'child', 'школьник, школьница, школьники'),
    ('дошкольни', 'ru', 'prefix', 'child', null), ('первоклас', 'ru', 'prefix', 'child', null),
    ('подрост', 'ru', 'prefix', 'child', 'подросток, подростки'),
    ('тинейджер', 'ru', 'prefix', 'child', null),
    ('сын', 'ru', 'word', 'child', null), ('сына', 'ru', 'word', 'child', null),
    ('сыну', 'ru', 'word', 'child', null), ('сыном', 'ru', 'word', 'child', null),
    ('сыне', 'ru', 'word', 'child', null), ('сыновья', 'ru', 'word', 'child', null),
    ('сыновей', 'ru', 'word', 'child', null), ('сыноч', 'ru', 'prefix', 'child', null),
    ('дочь', 'ru', 'word', 'child', null), ('дочер', 'ru', 'prefix', 'child', null),
    ('дочк', 'ru', 'prefix', 'child', null), ('внук', 'ru', 'prefix', 'child', 'внук, внучка, внуки'),
    ('внуч', 'ru', 'prefix', 'child', null), ('годовал', 'ru', 'prefix', 'child', 'a one-year-old'),
    ('парень', 'ru', 'word', 'not_child', 'a young man'),
    ('девушка', 'ru', 'word', 'not_child', 'a young woman'),
    ('девушки', 'ru', 'word', 'not_child', null);

-- entity_kind 'photo': entity_id is the file name; 'query': the text id. One row per (entity, source).
create table policy_flags (
    entity_kind  varchar not null check (entity_kind in ('photo', 'query')),
    entity_id    varchar not null,
    flag         varchar not null check (flag in ('child')),
    source       varchar not null,     -- vocabulary (query text), description, pixels
    score        double not null,      -- 1 for words; the classifier's probability for pixels
    evidence     varchar not null,     -- matched words and the text, or the threshold used
    job_run_id   varchar not null,
    primary key (entity_kind, entity_id, flag, source)
);

-- The pixel classifier's threshold and quality, per policy run (rpt_policy_summary reads the last).
create table policy_metrics (
    job_run_id  varchar not null,
    metric      varchar not null,
    value       double,
    primary key (job_run_id, metric)
);

-- A parent's or guardian's permission to show a flagged photo; scope 'all' or one region.
create table consents (
    consent_id  varchar primary key,
    image       varchar not null,
    granted_by  varchar not null,
    granted_at  timestamp not null,
    scope       varchar not null default 'all',
    note        varchar,
    revoked_at  timestamp
);

-- Where the rule applies. A region missing here follows 'default' (the rule applies).
create table jurisdictions (
    region         varchar primary key,
    children_rule  boolean not null,
    note           varchar
);
insert into jurisdictions values ('default', true, 'regions not listed: the rule applies');

-- What a user sees instead of photos when the query asks for children.
create table disclaimers (
    lang  varchar primary key,
    text  varchar not null
);
insert into disclaimers values
    ('en', 'We cannot show photos for this search: the query asks for photos of children, and in your region photos of children under 16 may be shown only with a parent''s or guardian''s permission.'),
    ('ru', 'Мы не можем показать фотографии по этому запросу: запрос касается фотографий детей, а в вашем регионе фотографии детей младше 16 лет можно показывать только с разрешения родителя или опекуна.');

-- What each policy run saw (a hash of vocabulary, texts and photo vectors): an unchanged rerun skips.
create table policy_runs (
    job_run_id     varchar primary key,
    fingerprint    varchar not null,
    image_encoder  varchar not null,
    finished_at    timestamp not null
);
