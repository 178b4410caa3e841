-- What `ws rate` shows instead of a score when the photo, not the query, is held back: the query
-- disclaimer said "the query asks for photos of children" of any text rated against such a photo.
create table photo_disclaimers (
    lang  varchar primary key,
    text  varchar not null
);
insert into photo_disclaimers values
    ('en', 'We cannot show this photo: it may show a child, and in your region photos of children under 16 may be shown only with a parent''s or guardian''s permission.'),
    ('ru', 'Мы не можем показать эту фотографию: на ней может быть ребёнок, а в вашем регионе фотографии детей младше 16 лет можно показывать только с разрешения родителя или опекуна.');
