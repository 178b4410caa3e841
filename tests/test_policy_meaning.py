"""The children check by meaning (issue 16): the labelled queries, loose matching of misspelt and split
words, the classifier's thresholds and veto, QueryCheck's decisions and evidence, the policy job's
model, metrics and flags, and `ws policy check` with a trained model."""
import json

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.embed import run_embed
from jobs.ingest import run_ingest
from jobs.policy import run_policy
from ws_core import policy
from ws_core.cli import main
from ws_core.db import migrate
from ws_core.policy import meaning
from ws_core.policy.fuzzy import distance_at_most_one, russian_slip
from tests.conftest import table


@pytest.fixture(scope="module")
def vocab():
    con = duckdb.connect()
    migrate(con)
    return policy.load_vocabulary(con)


def test_labelled_queries_cover_both_languages_the_kinds_and_hard_negatives(vocab):
    lab = meaning.load_labelled()
    counts = lab.groupby(["lang", "asks_for_children"]).size().to_dict()
    assert counts[("en", 1)] + counts[("en", 0)] >= 300 and counts[("ru", 1)] + counts[("ru", 0)] >= 200
    assert min(counts.values()) >= 100
    assert not lab.text.duplicated().any()
    for lang in ("en", "ru"):
        kinds = set(lab[lab.lang == lang].kind)
        assert {"synonym", "misspelling", "spaced", "relation", "age", "grade", "object_baby", "object_empty",
                "adult_relation", "adult_group", "animal", "figurative"} <= kinds | {"object_baby"}, lang
        # hard negatives: texts that are not about children though a child word is in them
        neg = lab[(lab.lang == lang) & (lab.asks_for_children == 0)]
        assert sum(any(w in t.lower() for w in ("baby", "child", "kid", "son", "дет", "ребят", "сын", "мальчи"))
                   for t in neg.text) >= 20, lang


def test_labelled_file_errors_name_the_rows(tmp_path):
    bad = tmp_path / "l.tsv"
    bad.write_text("lang\tasks_for_children\tkind\ttext\nen\t1\tplain\ta boy\nde\t1\tplain\tein Kind\n"
                   "en\t2\tplain\ta kid\nru\t0\tplain\t \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"rows \[3, 4, 5\] need lang en/ru, asks_for_children 0/1, a text"):
        meaning.load_labelled(bad)


@pytest.mark.parametrize("a,b,expected", [
    ("children", "children", True), ("chidlren", "children", True), ("childern", "children", True),
    ("todler", "toddler", True), ("toddlerr", "toddler", True), ("infnat", "infant", True),
    ("chldren", "children", True), ("chidrlen", "children", False), ("toddle", "toddlers", False),
    ("laughter", "daughter", True),
])
def test_distance_at_most_one(a, b, expected):
    assert distance_at_most_one(a, b) is expected and distance_at_most_one(b, a) is expected


@pytest.mark.parametrize("word,stem,expected", [
    ("рибенок", "ребен", True), ("падросток", "подрост", True), ("школники", "школьни", True),
    ("мальчек", "мальчик", True), ("малышь", "малыш", True), ("школьныи", "школьни", False),
    ("девичник", "девоч", False), ("учебник", "ученик", False),
])
def test_russian_slips(word, stem, expected):
    assert russian_slip(word, stem) is expected


@pytest.mark.parametrize("text,evidence", [
    ("chidlren playing in the snow", ["chidlren (read as children)"]),
    ("a todler on the beach", ["todler (read as toddler)"]),
    ("a teenger on a bike", ["teenger (read as teenager)"]),
    ("ch ildren at a fair", ["ch ildren (read as children)"]),
    ("a chi ld with a kite", ["chi ld (read as child)"]),
    ("д ети на качелях", ["д ети (read as дети)"]),
    ("рибёнок на пляже", ["рибенок (read as ребен)"]),
    ("падросток на велосипеде", ["падросток (read as подрост)"]),
    ("c h i l d r e n on a swing", ["children"]),       # an exact reading hides the loose ones
    # known words are never read as misspellings, nor are two words joined into a child word
    ("laughter at a party", []), ("a man with rabies warning signs", []), ("skater steps on a rail", []),
    ("школьный автобус на стоянке", []), ("учебник на столе", []), ("девичник на яхте", []),
])
def test_misspelt_and_split_words(vocab, text, evidence):
    assert policy.check(text, vocab).evidence == evidence


@pytest.mark.parametrize("text,expected", [
    # registers, grades, youth sport, relations, ages written out (schema/009)
    ("kindergarteners painting", True), ("a class of second graders", True), ("little league players", True),
    ("an under-12 soccer team", True), ("a tournament for under-14s", True), ("a girl of six on a pony", True),
    ("grandkids at the table", True), ("a wee bairn", True), ("twelve-year-olds on a trip", True),
    ("ученики 5 класса", True), ("в третьем классе", True), ("пятилетка на велосипеде", True),
    ("ребятня во дворе", True), ("отпрыск на прогулке", True), ("юные гимнастки", True),
    ("my cousin at the zoo, she is six", True), ("who just turned 7", True), ("a junior soccer team", True),
    ("she is one of the best", False), ("he is 5 feet tall", False), ("a junior doctor at work", False),
    # what a word says and the phrase takes back
    ("baby carrots", False), ("a baby elephant", False), ("a grown son fixing a car", False),
    ("a man sleeping like a baby", False), ("an empty child car seat", False), ("мальчишник в баре", False),
    ("детский врач в кабинете", False), ("дочерняя компания", False), ("a family of four", False),
    ("a first-class cabin", False), ("первоклассный сервис", False), ("under 10 minutes", False),
    ("one of two men", False),
    # schema/013: pet names, old words, organisations, relations; adults by relation, "without children"
    ("a scamp with a slingshot", True), ("a brat in a supermarket", True), ("a mini-me in dad's hat", True),
    ("the wee ones at the fair", True), ("a flower girl at the wedding", True), ("a high school freshman", True),
    ("шалунишка под столом", True), ("непоседы на диване", True), ("озорница с косичками", True),
    ("октябрята на линейке", True), ("утренник в детском саду", True), ("правнучка с прабабушкой", True),
    ("племяшка на качелях", True), ("гимнастки младшего возраста", True), ("school-age kids", True), ("дочурка в коляске", True),
    ("спектакль в младших классах", True), ("урок в начальной школе", True),
    ("учительница начальных классов за столом", False),
    ("an old man and his grown-up son", False), ("her middle-aged daughter", False),
    ("a cafe with no kids allowed", False), ("взрослого сына провожают в армию", False),
    ("пожилой мужчина с сыном средних лет", False), ("седой отец и седой сын на рыбалке", False), ("магазин мебели, без детей", False),
    ("a brat sausage on the grill", False), ("пионер авиации", False), ("непоседливый кот", False),
    ("little monkeys in a zoo", False), ("мужчина спит как младенец", False), ("giggling like schoolgirls", False), ("a lassie dog", False), ("если дождь", False), ("на даче", False),
])
def test_vocabulary_by_meaning(vocab, text, expected):
    assert policy.check(text, vocab).is_child is expected, policy.check(text, vocab).evidence


def test_thresholds_add_within_the_false_alarm_budget_and_veto_spares_children():
    params = meaning.MeaningParams(max_false_alarms=0.25, veto_child_loss=0.0)
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1, 0.05, 0.3])
    y = np.array([1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)
    words = np.array([0, 0, 0, 0, 1, 1, 0, 1], dtype=bool)
    near = np.ones(8, dtype=bool)
    # negatives: 4; no word flags the 0.7 one: adding it costs 1/4 = the budget, 0.6 would not add more
    threshold, veto = meaning.choose_thresholds(p, near, y, words, params)
    assert threshold == pytest.approx(0.6)
    # the flagged child at 0.3 must keep its flag: veto stops at 0.3, taking back 0.1 and 0.2
    assert veto == pytest.approx(0.3)
    assert meaning.decide(p, near, words, threshold, veto).tolist() == [1, 1, 1, 1, 0, 0, 0, 1]
    # where no hard negative is near, the words stand
    assert meaning.decide(p, np.zeros(8, bool), words, threshold, veto).tolist() == [1, 1, 1, 1, 1, 1, 0, 1]


def _fake_model(hard_text="an old father and his son"):
    """Vectors are one-hot by a keyword; p is high for "imps", low otherwise."""
    keys = ["imps", "grown", "park", "vessel"]

    def encode(texts):
        out = np.zeros((len(texts), len(keys)), dtype=np.float32)
        for i, t in enumerate(texts):
            hit = [k for k, key in enumerate(keys) if key in t]
            out[i, hit[0] if hit else 3] = 1.0
        return out

    model = meaning.TextModel("fake", np.array([6.0, -6.0, -2.0, 0.0], np.float32), 0.0, threshold=0.9,
                              veto=0.5, veto_cosine=0.6,
                              example_texts=["street imps playing", hard_text, "a park bench"],
                              example_labels=np.array([True, False, False]),
                              example_vectors=encode(["imps", "grown", "park"]),
                              example_hard=np.array([False, True, False]))
    return model, encode


def test_query_check_decisions_keep_their_evidence(vocab):
    model, encode = _fake_model()
    check = meaning.QueryCheck(vocab, model, encode)
    by_class, vetoed, other_word, plain, words, age, none = check.many([
        "scruffy imps by the sea", "an old man with his son, a grown man", "a girl, grown tall", "a park at dawn",
        "a boy in a park", "a grown 5-year-old", "🙂🙂 12345"])
    assert (by_class.is_child, by_class.source, by_class.evidence) == (
        True, "classifier", ["classifier p=1.00 >= 0.90; nearest labelled query: 'street imps playing' "
                             "(child, cosine 1.00)"])
    assert (vetoed.is_child, vetoed.source, vetoed.evidence) == (
        False, "classifier", ["the words (son) overruled: classifier p=0.00 < 0.50; nearest labelled query: "
                              "'an old father and his son' (not a child, cosine 1.00)"])
    # as close to the same hard negative, but another word flagged it: the words stand
    assert (other_word.is_child, other_word.source, other_word.evidence) == (True, "vocabulary", ["girl"])
    assert (plain.is_child, plain.source, plain.evidence) == (False, None, [])
    assert plain.score == pytest.approx(1 / (1 + np.exp(2)))
    # the words stand where no hard negative is near ("park" is a plain negative); a stated age always
    assert (words.is_child, words.source, words.evidence) == (True, "vocabulary", ["boy"])
    assert (age.is_child, age.source) == (True, "vocabulary")
    assert (none.is_child, none.source, none.score, none.notes) == (
        False, None, None, ["no English or Russian letters for the classifier to read: decided by the "
                            "vocabulary alone"])
    assert check("a boy").is_child and meaning.QueryCheck(vocab).many(["a boy", "scamps"])[0].source == "vocabulary"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_query_check_never_raises(vocab, text):
    """The real multilingual encoder with a random model: any text gets a decision."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 512)).astype(np.float32)
    model = meaning.TextModel("usem3", rng.normal(size=512).astype(np.float32), 0.0, 0.8, 0.2, 0.6,
                              ["a", "b", "c"], np.array([True, False, False]),
                              vectors / np.linalg.norm(vectors, axis=1, keepdims=True), np.array([False, True, False]))
    decision = meaning.QueryCheck(vocab, model)(text)
    assert isinstance(decision.is_child, bool) and decision.source in (None, "vocabulary", "classifier")


def test_huge_text_is_cut_for_the_classifier(vocab):
    seen = []
    model, encode = _fake_model()

    def spy(texts):
        seen.extend(texts)
        return encode(texts)
    decision = meaning.QueryCheck(vocab, model, spy)("a quiet vessel " * 10_000 + "with a boy")
    assert [len(t) for t in seen] == [meaning.MAX_CHARS] and decision.evidence == ["boy"]


@pytest.fixture
def trained(con, sample):
    run_ingest(con, [sample])
    run_embed(con, "fake-image", "fake-text")
    logs = []
    result = run_policy(con, "fake-image", log=logs.append)
    return con, result, logs


def test_policy_job_trains_the_check_and_flags_every_stored_query(trained):
    con, result, logs = trained
    model = meaning.load_model(con)
    lab = meaning.load_labelled()
    assert model.example_texts == list(lab.text) and model.example_vectors.shape == (len(lab), 512)
    assert 0 < model.veto <= 1 and 0 < model.threshold <= 1 and model.veto_cosine == 0.6
    assert table(con, "select labelled_sha256 from policy_text_models")[0][0] == meaning.labelled_sha256()
    m = result.metrics
    assert m["query_labelled_en_queries"] == (lab.lang == "en").sum()
    assert m["query_labelled_ru_queries"] == (lab.lang == "ru").sum()
    for key in ("cv_en_recall", "cv_ru_recall", "cv_en_false_alarms", "cv_ru_false_alarms"):
        assert 0 <= m[f"query_{key}"] <= 1
    assert m["query_cv_en_recall"] >= 0.9 and m["query_cv_en_false_alarms"] <= 0.1
    assert any(line.startswith("query classifier: threshold ") for line in logs)
    # the flags are what `ws policy check` decides for the same texts, with its source and score
    queries = table(con, "select text_id, text from texts where is_train_query or is_test_query order by text_id")
    decisions = policy.QueryCheck.load(con).many([t for _, t in queries])
    expected = sorted((tid, d.source) for (tid, _), d in zip(queries, decisions) if d.is_child)
    assert table(con, "select entity_id, source from policy_flags where entity_kind = 'query' order by 1") == expected
    assert expected
    rows = {(c, measure): v for c, measure, v in table(con, "select * from rpt_policy_summary")}
    assert rows[("query check", "cv_en_recall")] == pytest.approx(m["query_cv_en_recall"])
    assert rows[("query check", "cv_ru_false_alarms")] == pytest.approx(m["query_cv_ru_false_alarms"])
    flagged_by_words = sum(1 for _, s in expected if s == "vocabulary")
    test_ids = {t for (t,) in table(con, "select text_id from texts where is_test_query")}
    train_words = sum(1 for tid, s in expected if s == "vocabulary" and tid not in test_ids)
    assert rows.get(("queries", "train queries flagged by the vocabulary"), 0) == train_words
    assert flagged_by_words >= train_words
    # nothing changed: nothing retrained
    assert run_policy(con, "fake-image", log=lambda m: None).run_id is None


def test_cli_check_reads_the_trained_check(trained, runner, ws_db):
    con, _, _ = trained
    con.close()
    db = ws_db
    out = runner.invoke(main, ["policy", "check", "a wee bairn in a pram", "--json", "--db", str(db)])
    assert out.exit_code == 0, out.output
    row = json.loads(out.stdout)
    assert row["asks_for_children"] and row["source"] == "vocabulary" and 0 <= row["score"] <= 1
    assert out.stderr == ""
    out = runner.invoke(main, ["policy", "check", "🙂🙂", "--db", str(db)])
    assert "note: no English or Russian letters for the classifier to read: decided by the vocabulary alone" \
        in out.stdout


def test_bench_policy_reports_held_out_recall_and_latency(trained, runner, ws_db):
    con, _, _ = trained
    import pandas as pd
    held = pd.read_csv(meaning.LABELLED.parents[2] / "tests" / "data" / "policy_holdout.tsv", sep="\t")
    decided = np.array([d.is_child for d in policy.QueryCheck.load(con).many(list(held.text))])
    con.close()
    out = runner.invoke(main, ["bench", "policy", "--runs", "1", "--db", str(ws_db)])
    assert out.exit_code == 0, out.output
    asks = held.asks_for_children.to_numpy() == 1
    en = held.lang.to_numpy() == "en"
    assert f"en: recall on {(asks & en).sum()} held-out child queries        {decided[asks & en].mean():.3f}" \
        in out.stdout
    assert f"ru: false alarms on {(~asks & ~en).sum()} others" in out.stdout
    for row in ("vocabulary + classifier, one query (ms)", "ws policy check TEXT, whole process (s)"):
        assert row in out.stdout
