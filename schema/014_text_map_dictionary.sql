-- The word gloss's English-Russian dictionary (issue 15): each glossary word's one-word Russian
-- translations, one line per pair ("собака<TAB>dog"; one text, which a search reads at once where
-- 14,000 array items took 20 ms), and which dictionary they came from (ws_core/encoders/dictionary.py
-- identity). None stored: the gloss takes the nearest word in USE-m space alone. `ws embed` fits the
-- map again when a different dictionary is installed.
alter table text_maps add column translations varchar;
alter table text_maps add column dictionary varchar;
