-- More of the words people use for children (issue 16): pet names and scolding words said of children
-- (scamp, brat, шалун, непоседа, озорник), old and regional words (moppet, laddie, отрок, шкет),
-- children's organisations and school forms (пионерлагерь, октябрята, ясли, продлёнка, утренник), and
-- relations (правнук, племяшка, дочурка). The phrases that take a word back grow by adults named by a
-- relation with an age word before it ("a grown-up son", "взрослого сына") and by a child word after
-- "without" ("без детей"). Analysts' own rows win (on conflict do nothing).

insert into policy_terms (term, lang, match, decision, note)
select term, lang, match, decision, note from (values
    ('moppet', 'en', 'word', 'child', null), ('moppets', 'en', 'word', 'child', null),
    ('scamp', 'en', 'word', 'child', 'said of a mischievous child'), ('scamps', 'en', 'word', 'child', null),
    ('little rascal', 'en', 'word', 'child', null),
    ('brat', 'en', 'word', 'child', 'also said of adults; the costly error is showing a child'),
    ('brats', 'en', 'word', 'child', null), ('brat sausage', 'en', 'word', 'not_child', 'bratwurst'),
    ('brat sausages', 'en', 'word', 'not_child', null), ('beer brats', 'en', 'word', 'not_child', null),
    ('mini me', 'en', 'word', 'child', null),
    ('minime', 'en', 'word', 'child', '"mini-me" with the hyphen read as joining'),
    ('bub', 'en', 'word', 'child', 'a baby (Australian)'), ('bubs', 'en', 'word', 'child', null),
    ('wee one', 'en', 'word', 'child', null), ('wee ones', 'en', 'word', 'child', null),
    ('little ones', 'en', 'word', 'child', null),
    ('laddie', 'en', 'word', 'child', null), ('laddies', 'en', 'word', 'child', null),
    ('babe in arms', 'en', 'word', 'child', null), ('babes in arms', 'en', 'word', 'child', null),
    ('nursling', 'en', 'word', 'child', null), ('nurslings', 'en', 'word', 'child', null),
    ('papoose', 'en', 'word', 'child', null), ('playdate', 'en', 'word', 'child', null),
    ('playdates', 'en', 'word', 'child', null), ('play date', 'en', 'word', 'child', null),
    ('sleepover', 'en', 'word', 'child', 'a children''s party, mostly'), ('sleepovers', 'en', 'word', 'child', null),
    ('high school freshman', 'en', 'word', 'child', 'ninth grade: 14-15'),
    ('high school freshmen', 'en', 'word', 'child', null),
    ('freshman in high school', 'en', 'word', 'child', null),
    ('high school sophomore', 'en', 'word', 'child', 'tenth grade: 15-16'),
    ('high school sophomores', 'en', 'word', 'child', null),
    ('sophomore in high school', 'en', 'word', 'child', null),
    ('flower girl', 'en', 'word', 'child', 'at a wedding'), ('flower girls', 'en', 'word', 'child', null),
    ('ring bearer', 'en', 'word', 'child', null), ('page boy', 'en', 'word', 'child', null),
    ('pageboy', 'en', 'word', 'child', null),
    ('ясельн', 'ru', 'prefix', 'child', 'ясельная группа'), ('ясли', 'ru', 'word', 'child', null),
    ('яслях', 'ru', 'word', 'child', null), ('ясли-сад', 'ru', 'word', 'child', null),
    ('отрок', 'ru', 'prefix', 'child', null), ('отроч', 'ru', 'prefix', 'child', 'отроча, отроческий'),
    ('шалун', 'ru', 'prefix', 'child', 'шалун, шалунья, шалунишка'),
    ('непоседа', 'ru', 'word', 'child', 'said of a child; непоседливый is left to the classifier'),
    ('непоседы', 'ru', 'word', 'child', null), ('непоседу', 'ru', 'word', 'child', null),
    ('непоседой', 'ru', 'word', 'child', null), ('непосед', 'ru', 'word', 'child', null),
    ('озорник', 'ru', 'prefix', 'child', null), ('озорниц', 'ru', 'prefix', 'child', null),
    ('проказник', 'ru', 'prefix', 'child', null), ('проказниц', 'ru', 'prefix', 'child', null),
    ('егоза', 'ru', 'word', 'child', null), ('егозу', 'ru', 'word', 'child', null),
    ('шкет', 'ru', 'prefix', 'child', null),
    ('дочурк', 'ru', 'prefix', 'child', null), ('доча', 'ru', 'word', 'child', null),
    ('дочу', 'ru', 'word', 'child', null), ('дочей', 'ru', 'word', 'child', null),
    ('правнук', 'ru', 'prefix', 'child', null), ('правнучк', 'ru', 'prefix', 'child', null),
    ('племяшк', 'ru', 'prefix', 'child', null), ('внучат', 'ru', 'prefix', 'child', 'внучата'),
    ('пионерлагер', 'ru', 'prefix', 'child', 'a Soviet children''s camp (пионер alone is also a pioneer)'),
    ('пионерский лагерь', 'ru', 'word', 'child', null), ('пионерском лагере', 'ru', 'word', 'child', null),
    ('октябрят', 'ru', 'prefix', 'child', null), ('октябренок', 'ru', 'word', 'child', null),
    ('бойскаут', 'ru', 'prefix', 'child', null), ('скауты', 'ru', 'word', 'child', 'scouts, mostly children'),
    ('скаутов', 'ru', 'word', 'child', null),
    ('суворовц', 'ru', 'prefix', 'child', 'Suvorov school cadets, 10-17'), ('кадетик', 'ru', 'prefix', 'child', null),
    ('юниор', 'ru', 'prefix', 'child', 'junior sport: under 19 or 21; some are under 16'),
    ('утренник', 'ru', 'prefix', 'child', 'a kindergarten or school party'),
    ('продленк', 'ru', 'prefix', 'child', 'продлёнка: after-school group'),
    ('пупс', 'ru', 'prefix', 'child', null),
    ('младшего возраста', 'ru', 'word', 'child', 'of a young age'), ('дошкольного возраста', 'ru', 'word', 'child', null),
    ('школьного возраста', 'ru', 'word', 'child', null), ('грудного возраста', 'ru', 'word', 'child', null),
    ('младенческого возраста', 'ru', 'word', 'child', null),
    -- 009 has the genitive forms; the other cases of the same phrases
    ('младших классах', 'ru', 'word', 'child', 'primary school grades'), ('младшим классам', 'ru', 'word', 'child', null),
    -- not 'начальных классов': 'учитель начальных классов' is a job title
    ('младшие классы', 'ru', 'word', 'child', null),
    ('начальных классах', 'ru', 'word', 'child', null), ('начальные классы', 'ru', 'word', 'child', null),
    ('начальной школе', 'ru', 'word', 'child', null), ('начальную школу', 'ru', 'word', 'child', null),
    ('school age', 'en', 'word', 'child', null), ('school aged', 'en', 'word', 'child', null),
    ('ангелочек', 'ru', 'word', 'child', 'said of a child'),
    ('без детей', 'ru', 'word', 'not_child', '"without children"'), ('без ребенка', 'ru', 'word', 'not_child', null),
    ('без малышей', 'ru', 'word', 'not_child', null), ('бездетн', 'ru', 'prefix', 'not_child', 'childless'),
    ('without children', 'en', 'word', 'not_child', null), ('without kids', 'en', 'word', 'not_child', null),
    ('without a child', 'en', 'word', 'not_child', null), ('no children', 'en', 'word', 'not_child', null),
    ('no kids', 'en', 'word', 'not_child', null), ('child free', 'en', 'word', 'not_child', null),
    ('childfree', 'en', 'word', 'not_child', null), ('childless', 'en', 'word', 'not_child', null),
    ('like a little kid', 'en', 'word', 'not_child', 'a simile'), ('like little kids', 'en', 'word', 'not_child', null),
    ('like a little boy', 'en', 'word', 'not_child', null), ('like a little girl', 'en', 'word', 'not_child', null),
    ('like a schoolboy', 'en', 'word', 'not_child', null), ('like a schoolgirl', 'en', 'word', 'not_child', null),
    ('like schoolboys', 'en', 'word', 'not_child', null), ('like schoolgirls', 'en', 'word', 'not_child', null),
    ('like a teenager', 'en', 'word', 'not_child', null), ('like teenagers', 'en', 'word', 'not_child', null),
    ('like babies', 'en', 'word', 'not_child', null), ('like a toddler', 'en', 'word', 'not_child', null)
) as t(term, lang, match, decision, note)
on conflict do nothing;

-- Russian similes: "спит как младенец", "дурачится как ребёнок", "словно дети"
insert into policy_terms (term, lang, match, decision, note)
select word || ' ' || child, 'ru', 'word', 'not_child', 'a simile'
from (values ('как'), ('словно'), ('будто'), ('точно')) as w(word),
     (values ('младенец'), ('младенцы'), ('ребенок'), ('ребёнок'), ('дети'), ('дитя'), ('малыш'), ('малыши'),
             ('мальчишка'), ('мальчишки'), ('девчонка'), ('девчонки'), ('школьник'), ('школьники'),
             ('школьница'), ('школьницы'), ('подросток'), ('подростки'), ('маленький'), ('маленькая'),
             ('маленькие')) as c(child)
on conflict do nothing;

-- an adult named by a relation: "a grown-up son", "middle-aged daughters", "her adult grandson"
insert into policy_terms (term, lang, match, decision, note)
select age || ' ' || relation, 'en', 'word', 'not_child', 'an adult named by a relation'
from (values ('adult'), ('grown'), ('grown up'), ('grownup'), ('middle aged'), ('middleaged'), ('elderly'),
             ('aged'), ('retired'), ('gray haired'), ('grey haired'), ('married')) as a(age),
     (values ('son'), ('sons'), ('daughter'), ('daughters'), ('child'), ('children'), ('kids'),
             ('grandson'), ('grandsons'), ('granddaughter'), ('granddaughters'), ('grandchildren'),
             ('grandkids'), ('nephew'), ('nephews'), ('niece'), ('nieces'), ('stepson'), ('stepdaughter')) as r(relation)
on conflict do nothing;

insert into policy_terms (term, lang, match, decision, note)
select age || ' ' || relation, 'ru', 'word', 'not_child', 'an adult named by a relation'
from (values ('взрослый', 'сын'), ('взрослого', 'сына'), ('взрослому', 'сыну'), ('взрослым', 'сыном'),
             ('взрослом', 'сыне'), ('взрослые', 'сыновья'), ('взрослых', 'сыновей'), ('взрослыми', 'сыновьями'),
             ('взрослая', 'дочь'), ('взрослую', 'дочь'), ('взрослой', 'дочери'), ('взрослой', 'дочерью'),
             ('взрослые', 'дочери'), ('взрослых', 'дочерей'), ('взрослых', 'детей'), ('взрослым', 'детям'),
             ('взрослый', 'внук'), ('взрослого', 'внука'), ('взрослым', 'внуком'), ('взрослая', 'внучка'),
             ('взрослую', 'внучку'), ('взрослой', 'внучкой'), ('взрослые', 'внуки'), ('взрослых', 'внуков'),
             ('взрослый', 'племянник'), ('взрослого', 'племянника'), ('взрослая', 'племянница'),
             ('пожилой', 'сын'), ('пожилого', 'сына'), ('пожилая', 'дочь'), ('пожилые', 'дети'),
             ('седой', 'сын'), ('седого', 'сына'), ('седым', 'сыном'), ('седые', 'сыновья'), ('седая', 'дочь'),
             ('совершеннолетний', 'сын'), ('совершеннолетняя', 'дочь'), ('совершеннолетние', 'дети'),
             ('сын', 'средних лет'), ('сына', 'средних лет'), ('сыном', 'средних лет'), ('сыну', 'средних лет'),
             ('сыновья', 'средних лет'), ('дочь', 'средних лет'), ('дочери', 'средних лет'),
             ('дочерью', 'средних лет'), ('дети', 'средних лет'), ('детьми', 'средних лет')) as t(age, relation)
on conflict do nothing;
