-- The multilingual map's glossary (issue 15): English description words and their USE-m vectors
-- (float16, little-endian, row-major), so a non-English query is also glossed word by word into
-- English and read by the text encoder itself. A map stored without them is refitted by `ws embed`.
alter table text_maps add column words varchar[];
alter table text_maps add column word_vectors blob;
