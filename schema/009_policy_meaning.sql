-- The children rule by meaning (issue 16). The vocabulary grows by the registers, school grades, youth
-- sports, relations and Russian diminutives it missed, and by the phrases that decide a word is not a
-- child ("baby carrots", "a grown son", "мальчишник"); analysts' own rows win (on conflict do nothing).
-- A classifier over multilingual sentence vectors (ws_core/policy/meaning.py), trained by the policy
-- job on the shipped labelled queries and the weakly labelled descriptions, catches what the words do
-- not and can overrule a word it is sure is not about a child; policy_text_models keeps it.

insert into policy_terms (term, lang, match, decision, note)
select term, lang, match, decision, note from (values
    ('kindergarten', 'en', 'word', 'child', 'a kindergarten class; an empty one is left to the classifier'),
    ('kindergartens', 'en', 'word', 'child', null), ('preschool', 'en', 'word', 'child', null),
    ('preschools', 'en', 'word', 'child', null), ('daycare', 'en', 'word', 'child', null),
    ('playgroup', 'en', 'word', 'child', null), ('nursery school', 'en', 'word', 'child', null),
    ('pupil', 'en', 'word', 'child', 'school pupils'), ('pupils', 'en', 'word', 'child', null),
    ('grade schooler', 'en', 'word', 'child', null), ('grade schoolers', 'en', 'word', 'child', null),
    ('grade school', 'en', 'word', 'child', null), ('elementary school', 'en', 'word', 'child', null),
    ('primary school', 'en', 'word', 'child', null), ('middle school', 'en', 'word', 'child', null),
    ('middle schooler', 'en', 'word', 'child', null), ('middle schoolers', 'en', 'word', 'child', null),
    ('elementary schooler', 'en', 'word', 'child', null), ('elementary schoolers', 'en', 'word', 'child', null),
    ('high schooler', 'en', 'word', 'child', 'teens: some are under 16'), ('high schoolers', 'en', 'word', 'child', null),
    ('junior high', 'en', 'word', 'child', null), ('homeschooler', 'en', 'word', 'child', null),
    ('homeschoolers', 'en', 'word', 'child', null),
    ('trick or treater', 'en', 'word', 'child', null), ('trick or treaters', 'en', 'word', 'child', null),
    ('trickortreater', 'en', 'word', 'child', '"trick-or-treater" with the hyphens read as joining'),
    ('trickortreaters', 'en', 'word', 'child', null),
    ('cub scout', 'en', 'word', 'child', null), ('cub scouts', 'en', 'word', 'child', null),
    ('boy scout', 'en', 'word', 'child', null), ('girl scout', 'en', 'word', 'child', null),
    ('little league', 'en', 'word', 'child', 'youth baseball'), ('little leaguer', 'en', 'word', 'child', null),
    ('little leaguers', 'en', 'word', 'child', null), ('pee wee', 'en', 'word', 'child', null),
    ('peewee', 'en', 'word', 'child', null),
    ('lad', 'en', 'word', 'child', 'also said of young men; counted as a child, the costly error is showing one'),
    ('lass', 'en', 'word', 'child', null), ('lasses', 'en', 'word', 'child', null),
    ('bairn', 'en', 'word', 'child', null), ('bairns', 'en', 'word', 'child', null),
    ('wean', 'en', 'word', 'child', null), ('weans', 'en', 'word', 'child', null),
    ('nipper', 'en', 'word', 'child', null), ('nippers', 'en', 'word', 'child', null),
    ('tyke', 'en', 'word', 'child', null), ('tykes', 'en', 'word', 'child', null),
    ('sprog', 'en', 'word', 'child', null), ('sprogs', 'en', 'word', 'child', null),
    ('urchin', 'en', 'word', 'child', null), ('urchins', 'en', 'word', 'child', null),
    ('kiddies', 'en', 'word', 'child', null), ('kidz', 'en', 'word', 'child', null),
    ('youngling', 'en', 'word', 'child', null), ('younglings', 'en', 'word', 'child', null),
    ('youngin', 'en', 'word', 'child', null), ('youngins', 'en', 'word', 'child', null),
    ('youngun', 'en', 'word', 'child', null), ('younguns', 'en', 'word', 'child', null),
    ('whippersnapper', 'en', 'word', 'child', null), ('whippersnappers', 'en', 'word', 'child', null),
    ('rugrat', 'en', 'word', 'child', null), ('rugrats', 'en', 'word', 'child', null),
    ('ankle biter', 'en', 'word', 'child', null), ('ankle biters', 'en', 'word', 'child', null),
    ('anklebiters', 'en', 'word', 'child', null), ('munchkin', 'en', 'word', 'child', null),
    ('munchkins', 'en', 'word', 'child', null), ('pipsqueak', 'en', 'word', 'child', null),
    ('pipsqueaks', 'en', 'word', 'child', null), ('little rascals', 'en', 'word', 'child', null),
    ('little squirt', 'en', 'word', 'child', null), ('small fry', 'en', 'word', 'child', null),
    ('minors', 'en', 'word', 'child', null), ('juveniles', 'en', 'word', 'child', null),
    ('juvenile delinquent', 'en', 'word', 'child', null), ('orphan', 'en', 'word', 'child', null),
    ('orphans', 'en', 'word', 'child', null), ('choirboy', 'en', 'word', 'child', null),
    ('choirboys', 'en', 'word', 'child', null), ('paperboy', 'en', 'word', 'child', null),
    ('neonate', 'en', 'word', 'child', null), ('neonates', 'en', 'word', 'child', null),
    ('bambino', 'en', 'word', 'child', null), ('bambini', 'en', 'word', 'child', null),
    ('pubescent', 'en', 'word', 'child', null), ('prepubescent', 'en', 'word', 'child', null),
    ('teenybopper', 'en', 'word', 'child', null), ('teenyboppers', 'en', 'word', 'child', null),
    ('tweenager', 'en', 'word', 'child', null), ('tweenagers', 'en', 'word', 'child', null),
    ('grandkid', 'en', 'word', 'child', null), ('grandkids', 'en', 'word', 'child', null),
    ('grandbaby', 'en', 'word', 'child', null), ('grandbabies', 'en', 'word', 'child', null),
    ('niece', 'en', 'word', 'child', 'may be grown; counted as a child like son and daughter'),
    ('nieces', 'en', 'word', 'child', null), ('nephew', 'en', 'word', 'child', null),
    ('nephews', 'en', 'word', 'child', null),
    ('little sister', 'en', 'word', 'child', null), ('little sisters', 'en', 'word', 'child', null),
    ('little brother', 'en', 'word', 'child', null), ('little brothers', 'en', 'word', 'child', null),
    ('little sis', 'en', 'word', 'child', null), ('little bro', 'en', 'word', 'child', null),
    ('ring bearer', 'en', 'word', 'child', null), ('stepchild', 'en', 'word', 'child', null),
    ('stepchildren', 'en', 'word', 'child', null), ('stepson', 'en', 'word', 'child', null),
    ('stepsons', 'en', 'word', 'child', null), ('stepdaughter', 'en', 'word', 'child', null),
    ('stepdaughters', 'en', 'word', 'child', null), ('godchild', 'en', 'word', 'child', null),
    ('godchildren', 'en', 'word', 'child', null), ('godson', 'en', 'word', 'child', null),
    ('goddaughter', 'en', 'word', 'child', null), ('firstborn', 'en', 'word', 'child', null),
    ('triplets', 'en', 'word', 'child', null), ('quadruplets', 'en', 'word', 'child', null),
    ('breastfeeding', 'en', 'word', 'child', 'an infant is in the picture'),
    ('bundle of joy', 'en', 'word', 'child', null),
    ('high school student', 'en', 'word', 'child', 'teens: some are under 16'),
    ('high school students', 'en', 'word', 'child', null), ('high school freshman', 'en', 'word', 'child', null),
    ('high school freshmen', 'en', 'word', 'child', null), ('high school sophomore', 'en', 'word', 'child', null),
    ('high school sophomores', 'en', 'word', 'child', null),
    -- English phrases that decide a child word names something else
    ('kiddie pool', 'en', 'word', 'not_child', 'an object'), ('kiddie pools', 'en', 'word', 'not_child', null),
    ('kiddie ride', 'en', 'word', 'not_child', null),
    ('baby carrot', 'en', 'word', 'not_child', 'food'), ('baby carrots', 'en', 'word', 'not_child', null),
    ('baby corn', 'en', 'word', 'not_child', null), ('baby spinach', 'en', 'word', 'not_child', null),
    ('baby potatoes', 'en', 'word', 'not_child', null), ('baby tomatoes', 'en', 'word', 'not_child', null),
    ('baby greens', 'en', 'word', 'not_child', null), ('baby kale', 'en', 'word', 'not_child', null),
    ('baby bok choy', 'en', 'word', 'not_child', null), ('baby back', 'en', 'word', 'not_child', 'ribs'),
    ('baby grand', 'en', 'word', 'not_child', 'a piano'), ('baby shower', 'en', 'word', 'not_child', 'a party'),
    ('baby showers', 'en', 'word', 'not_child', null), ('baby monitor', 'en', 'word', 'not_child', null),
    ('baby food', 'en', 'word', 'not_child', null), ('baby powder', 'en', 'word', 'not_child', null),
    ('baby oil', 'en', 'word', 'not_child', null), ('baby wipes', 'en', 'word', 'not_child', null),
    ('baby formula', 'en', 'word', 'not_child', null), ('baby pink', 'en', 'word', 'not_child', 'a colour'),
    ('baby waves', 'en', 'word', 'not_child', null),
    ('like a baby', 'en', 'word', 'not_child', 'a simile: "sleeping like a baby"'),
    ('like a child', 'en', 'word', 'not_child', null), ('like a kid', 'en', 'word', 'not_child', null),
    ('like kids', 'en', 'word', 'not_child', null), ('like children', 'en', 'word', 'not_child', null),
    ('child seat', 'en', 'word', 'not_child', 'an object; a child in it is named too'),
    ('child seats', 'en', 'word', 'not_child', null), ('child car seat', 'en', 'word', 'not_child', null),
    ('child car seats', 'en', 'word', 'not_child', null), ('kids menu', 'en', 'word', 'not_child', null),
    ('kids meal', 'en', 'word', 'not_child', null),
    ('adult son', 'en', 'word', 'not_child', 'an adult'), ('adult sons', 'en', 'word', 'not_child', null),
    ('adult daughter', 'en', 'word', 'not_child', null), ('adult daughters', 'en', 'word', 'not_child', null),
    ('adult children', 'en', 'word', 'not_child', null), ('adult child', 'en', 'word', 'not_child', null),
    ('adult kids', 'en', 'word', 'not_child', null), ('grown son', 'en', 'word', 'not_child', null),
    ('grown sons', 'en', 'word', 'not_child', null), ('grown daughter', 'en', 'word', 'not_child', null),
    ('grown daughters', 'en', 'word', 'not_child', null), ('grown children', 'en', 'word', 'not_child', null),
    ('grown kids', 'en', 'word', 'not_child', null), ('grown up son', 'en', 'word', 'not_child', null),
    ('grown up daughter', 'en', 'word', 'not_child', null),
    ('boy band', 'en', 'word', 'not_child', 'grown men, often'), ('boy bands', 'en', 'word', 'not_child', null),
    ('golden boy', 'en', 'word', 'not_child', null), ('sea urchin', 'en', 'word', 'not_child', 'an animal'),
    ('sea urchins', 'en', 'word', 'not_child', null),
    ('baby bottle', 'en', 'word', 'not_child', 'an object'), ('baby bottles', 'en', 'word', 'not_child', null),
    ('childrens book', 'en', 'word', 'not_child', 'a thing for children ("children''s" after normalisation)'),
    ('childrens books', 'en', 'word', 'not_child', null), ('childrens author', 'en', 'word', 'not_child', null),
    ('childrens hospital', 'en', 'word', 'not_child', null), ('childrens clothes', 'en', 'word', 'not_child', null),
    ('childrens clothing', 'en', 'word', 'not_child', null), ('childrens furniture', 'en', 'word', 'not_child', null),
    ('kid size', 'en', 'word', 'not_child', null), ('kid sized', 'en', 'word', 'not_child', null),
    ('kindergarten teacher', 'en', 'word', 'not_child', 'an adult; children with her are named too'),
    ('kindergarten teachers', 'en', 'word', 'not_child', null),
    ('old boys', 'en', 'word', 'not_child', 'alumni'), ('girls night', 'en', 'word', 'not_child', 'adult women'),
    ('boys night', 'en', 'word', 'not_child', null), ('youth hostel', 'en', 'word', 'not_child', 'a place'),
    ('youth hostels', 'en', 'word', 'not_child', null), ('youth pastor', 'en', 'word', 'not_child', null),
    ('new kid on the block', 'en', 'word', 'not_child', null), ('tot of', 'en', 'word', 'not_child', 'a measure of a drink'),
    -- Russian: stems (prefix) where every word that starts with them means a child
    ('девоч', 'ru', 'prefix', 'child', 'девочка, девочек, девочкам'), ('детиш', 'ru', 'prefix', 'child', 'детишки, детишек'),
    ('деток', 'ru', 'word', 'child', null), ('детки', 'ru', 'word', 'child', null),
    ('детвор', 'ru', 'prefix', 'child', 'детвора'), ('дитя', 'ru', 'word', 'child', null),
    ('дите', 'ru', 'word', 'child', 'дитё'), ('дитят', 'ru', 'prefix', 'child', 'дитятко'),
    ('чадо', 'ru', 'word', 'child', null), ('чада', 'ru', 'word', 'child', null),
    ('мальчуган', 'ru', 'prefix', 'child', null), ('мальчонк', 'ru', 'prefix', 'child', null),
    ('сынишк', 'ru', 'prefix', 'child', null), ('сынок', 'ru', 'word', 'child', null),
    ('сынка', 'ru', 'word', 'child', null), ('сынку', 'ru', 'word', 'child', null),
    ('грудничк', 'ru', 'prefix', 'child', 'грудничка'), ('грудничо', 'ru', 'prefix', 'child', 'грудничок'),
    ('малявк', 'ru', 'prefix', 'child', null), ('пацанен', 'ru', 'prefix', 'child', 'пацанёнок'),
    ('пацанят', 'ru', 'prefix', 'child', null), ('школот', 'ru', 'prefix', 'child', null),
    ('школяр', 'ru', 'prefix', 'child', null), ('первоклаш', 'ru', 'prefix', 'child', 'первоклашка'),
    ('второклас', 'ru', 'prefix', 'child', null), ('третьеклас', 'ru', 'prefix', 'child', null),
    ('четвероклас', 'ru', 'prefix', 'child', null), ('пятиклас', 'ru', 'prefix', 'child', null),
    ('шестиклас', 'ru', 'prefix', 'child', null), ('семиклас', 'ru', 'prefix', 'child', null),
    ('восьмиклас', 'ru', 'prefix', 'child', null), ('девятиклас', 'ru', 'prefix', 'child', null),
    ('десятиклас', 'ru', 'prefix', 'child', null), ('старшеклас', 'ru', 'prefix', 'child', 'teens: some are under 16'),
    ('младшеклас', 'ru', 'prefix', 'child', null), ('младших классов', 'ru', 'word', 'child', null),
    ('начальной школы', 'ru', 'word', 'child', null), ('начальная школа', 'ru', 'word', 'child', null),
    ('ученик', 'ru', 'prefix', 'child', 'a school pupil (a university one is студент)'),
    ('учениц', 'ru', 'prefix', 'child', null),
    ('кроха', 'ru', 'word', 'child', null), ('крохи', 'ru', 'word', 'child', null),
    ('кроху', 'ru', 'word', 'child', null), ('крохе', 'ru', 'word', 'child', null),
    ('малышн', 'ru', 'prefix', 'child', null), ('мелюзг', 'ru', 'prefix', 'child', null),
    ('малец', 'ru', 'word', 'child', null), ('мальц', 'ru', 'prefix', 'child', 'мальца, мальцы'),
    ('сорванец', 'ru', 'word', 'child', null), ('сорванц', 'ru', 'prefix', 'child', null),
    ('бутуз', 'ru', 'prefix', 'child', null), ('ляльк', 'ru', 'prefix', 'child', null),
    ('лялечк', 'ru', 'prefix', 'child', null), ('девчурк', 'ru', 'prefix', 'child', null),
    ('племянни', 'ru', 'prefix', 'child', 'may be grown; counted as a child like сын and дочь'),
    ('крестни', 'ru', 'prefix', 'child', null), ('пасын', 'ru', 'prefix', 'child', null),
    ('падчериц', 'ru', 'prefix', 'child', null), ('сирот', 'ru', 'prefix', 'child', null),
    ('несовершеннолет', 'ru', 'prefix', 'child', null),
    ('детсад', 'ru', 'prefix', 'child', null), ('сестренк', 'ru', 'prefix', 'child', 'сестрёнка'),
    ('братишк', 'ru', 'prefix', 'child', null), ('доченьк', 'ru', 'prefix', 'child', null),
    ('деточк', 'ru', 'prefix', 'child', null), ('девчоноч', 'ru', 'prefix', 'child', null),
    ('юны', 'ru', 'prefix', 'child', 'юный, юные: young; the costly error is missing a child'),
    ('юная', 'ru', 'word', 'child', null), ('юную', 'ru', 'word', 'child', null), ('юной', 'ru', 'word', 'child', null),
    ('юношеск', 'ru', 'prefix', 'child', 'юношеская команда: a youth team'), ('юнга', 'ru', 'word', 'child', null),
    ('юнги', 'ru', 'word', 'child', null), ('отпрыск', 'ru', 'prefix', 'child', null),
    ('парнишк', 'ru', 'prefix', 'child', null), ('двойняшк', 'ru', 'prefix', 'child', null),
    ('тройняшк', 'ru', 'prefix', 'child', null),
    -- Russian words and phrases that decide a child word names something else
    ('мальчишник', 'ru', 'prefix', 'not_child', 'a bachelor party'),
    ('дочерн', 'ru', 'prefix', 'not_child', 'дочерняя компания: a subsidiary'),
    ('первоклассны', 'ru', 'prefix', 'not_child', 'первоклассный: first-rate (первоклассник is a child)'),
    ('первоклассна', 'ru', 'prefix', 'not_child', null), ('первоклассно', 'ru', 'prefix', 'not_child', null),
    ('первоклассне', 'ru', 'prefix', 'not_child', null),
    ('детский врач', 'ru', 'word', 'not_child', 'a paediatrician'),
    ('детского врача', 'ru', 'word', 'not_child', null),
    ('детское питание', 'ru', 'word', 'not_child', 'food'),
    ('детского питания', 'ru', 'word', 'not_child', null),
    ('детская присыпка', 'ru', 'word', 'not_child', null),
    ('детское автокресло', 'ru', 'word', 'not_child', 'an object; a child in it is named too'),
    ('маменькин сынок', 'ru', 'word', 'not_child', 'said of a grown man'),
    ('взрослая дочь', 'ru', 'word', 'not_child', 'an adult'), ('взрослой дочерью', 'ru', 'word', 'not_child', null),
    ('взрослый сын', 'ru', 'word', 'not_child', null), ('взрослым сыном', 'ru', 'word', 'not_child', null),
    ('взрослые дети', 'ru', 'word', 'not_child', null), ('взрослыми детьми', 'ru', 'word', 'not_child', null)
) as t(term, lang, match, decision, note)
on conflict do nothing;

-- "детский" before a thing or a place names the thing: "детская площадка" like "playground"
insert into policy_terms (term, lang, match, decision, note)
select adj || ' ' || noun, 'ru', 'word', 'not_child', 'a thing or place for children; a child in it is named too'
from (values ('детская', 'площадка'), ('детской', 'площадки'), ('детской', 'площадке'), ('детскую', 'площадку'),
             ('детские', 'площадки'), ('детских', 'площадок'), ('детская', 'кроватка'), ('детскую', 'кроватку'),
             ('детской', 'кроватки'), ('детская', 'комната'), ('детской', 'комнаты'), ('детской', 'комнате'),
             ('детскую', 'комнату'), ('детское', 'меню'), ('детская', 'одежда'), ('детской', 'одежды'),
             ('детскую', 'одежду'), ('детская', 'книга'), ('детские', 'книги'), ('детских', 'книг'),
             ('детскими', 'книгами'), ('детская', 'больница'), ('детской', 'больницы'), ('детскую', 'больницу'),
             ('детский', 'писатель'), ('детская', 'писательница'), ('детская', 'улыбка'), ('детской', 'улыбкой'),
             ('детская', 'коляска'), ('детскую', 'коляску'), ('детские', 'игрушки'), ('детских', 'игрушек')) as t(adj, noun)
on conflict do nothing;

-- "baby" before a young animal names the animal
insert into policy_terms (term, lang, match, decision, note)
select 'baby ' || animal, 'en', 'word', 'not_child', 'a young animal' from (values
    ('animal'), ('animals'), ('elephant'), ('elephants'), ('giraffe'), ('giraffes'), ('seal'), ('seals'),
    ('duck'), ('ducks'), ('bird'), ('birds'), ('goat'), ('goats'), ('deer'), ('horse'), ('horses'),
    ('dolphin'), ('dolphins'), ('whale'), ('whales'), ('monkey'), ('monkeys'), ('bear'), ('bears'),
    ('lion'), ('lions'), ('tiger'), ('tigers'), ('panda'), ('pandas'), ('penguin'), ('penguins'),
    ('turtle'), ('turtles'), ('owl'), ('owls'), ('fox'), ('foxes'), ('rabbit'), ('rabbits'), ('bunny'),
    ('bunnies'), ('chick'), ('chicks'), ('cow'), ('cows'), ('pig'), ('pigs'), ('sheep'), ('koala'),
    ('kangaroo'), ('otter'), ('otters'), ('zebra'), ('zebras'), ('hippo'), ('rhino'), ('gorilla'),
    ('chimp'), ('squirrel'), ('squirrels'), ('hedgehog'), ('dog'), ('dogs'), ('cat'), ('cats'),
    ('alligator'), ('crocodile'), ('bat'), ('bats'), ('swan'), ('swans'), ('goose'), ('geese'),
    ('camel'), ('donkey'), ('llama'), ('alpaca'), ('moose'), ('wolf'), ('wolves'), ('hawk'), ('eagle')
) as t(animal)
on conflict do nothing;

-- school grades one to nine: "first graders", "a 5th grade class"
insert into policy_terms (term, lang, match, decision, note)
select ordinal || ' ' || word, 'en', 'word', 'child', case when word = 'grader' then 'school grades 1-9' end
from (values ('first'), ('second'), ('third'), ('fourth'), ('fifth'), ('sixth'), ('seventh'), ('eighth'),
             ('ninth'), ('1st'), ('2nd'), ('3rd'), ('4th'), ('5th'), ('6th'), ('7th'), ('8th'), ('9th')) as o(ordinal),
     (values ('grader'), ('graders'), ('grade')) as w(word)
on conflict do nothing;

-- The meaning classifier the policy job trained (numbers only: no pickles), with the thresholds it
-- chose by cross-validation on the labelled queries and the texts its evidence points to.
create table policy_text_models (
    job_run_id     varchar primary key,
    encoder        varchar not null,     -- the sentence encoder whose vectors it reads
    coef           float[] not null,
    intercept      double not null,
    threshold      double not null,      -- p >= threshold: asks for children, whatever the words say
    veto           double not null,      -- a vocabulary hit with p < veto is read as not a child ...
    veto_cosine    double not null,      -- ... when its nearest labelled query is a hard negative this close
    example_texts  varchar[] not null,   -- the labelled queries, for "nearest labelled example"
    example_labels boolean[] not null,
    example_vectors float[] not null,    -- row-major, len(example_texts) x dims
    example_hard   boolean[] not null,   -- not a child though words flag it: where the veto may act
    labelled_sha256 varchar not null     -- the labelled set it was trained on
);
