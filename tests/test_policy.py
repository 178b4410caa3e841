import functools
import json
import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobs.embed import run_embed
from jobs.ingest import run_ingest
from jobs.policy import run_policy
from ws_core import db as wsdb
from ws_core import policy
from ws_core.cli import main
from ws_core.policy import pixels
from ws_core.policy.normalize import normalize, to_latin
from tests.conftest import table

# (text, asks for children?). Ambiguous forms are decided as documented in schema/004_policy.sql and
# the README: girl/boy/teen/son count as children; boyfriend, young man/woman, a goat's kid do not.
LABELLED = [
    # plain words and plurals
    ("Two little girls playing", True),
    ("A child in a pink dress is climbing up a set of stairs", True),
    ("Children play in the fountain", True),
    ("A boy jumps into the pool", True),
    ("Three boys on a trampoline", True),
    ("a baby sleeping in a crib", True),
    ("Babies in a stroller", True),
    ("Toddler with a red balloon", True),
    ("kids playing soccer", True),
    ("A kid on a skateboard", True),
    ("an infant held by her mother", True),
    ("Teenagers at a concert", True),
    ("a teenage girl with headphones", True),
    ("a teen skateboarding", True),
    ("schoolchildren in uniforms", True),
    ("A father and his son fishing", True),
    ("Mother and daughter baking", True),
    ("grandson hugging his grandmother", True),
    ("a newborn in a blanket", True),
    ("youngsters running in the park", True),
    ("a preschooler painting", True),
    ("the little ones are asleep", True),
    ("Youth football game", True),
    # spelling tricks
    ("Ch1ld on a swing", True),
    ("k1ds in the park", True),
    ("a b0y with a kite", True),
    ("g1rls dancing", True),
    ("a t33n on a bike", True),
    ("KIIIIDS running", True),
    ("chiiiild alone", True),
    ("toddddler in the sand", True),
    ("c\u200bhild on the grass", True),
    ("kid\u00addo eating", True),
    ("k.i.d.s playing", True),
    ("ch-ild with a dog", True),
    ("b o y".replace(" ", "\u200d"), True),
    ("\u0441hild in the snow", True),             # Cyrillic с
    ("ＣＨＩＬＤ in fullwidth letters", True),
    ("CHILDREN SHOUTING", True),
    ("Bóy with accents", True),
    ("mother-daughter picnic", True),
    ("a boy's bicycle", True),
    ("kids!", True),
    ("girl\tplaying\nin the rain", True),
    # Russian, with inflections
    ("мальчик играет в футбол", True),
    ("Дети в парке", True),
    ("двое детей на пляже", True),
    ("ребёнок спит", True),
    ("ребенка держит мама", True),
    ("девочка с собакой", True),
    ("девочки танцуют", True),
    ("школьники идут в школу", True),
    ("малыш в коляске", True),
    ("младенец на руках", True),
    ("подросток на скейте", True),
    ("отец с сыном", True),
    ("мама и дочка", True),
    ("детская площадка", False),                  # a place, like "playground" (schema/009)
    ("дети на детской площадке", True),
    ("мальчишки бегут", True),
    ("ДЕТИ", True),
    ("дeти с латинской e", True),             # Latin e inside a Russian word
    # stated ages
    ("a 5-year-old on a swing", True),
    ("a five year old boy", True),
    ("twelve years old and skating", True),
    ("a girl aged 7", True),
    ("8 yo riding a bike", True),
    ("an 18 month old", True),
    ("a 3 week old puppy and its owner", True),
    ("15-year-old skater", True),
    ("ребенку 5 лет", True),
    ("сколько ему? 10 лет", True),
    ("пятилетний на велосипеде", True),
    # negatives: words that contain a term, and adults
    ("kidney beans in a bowl", False),
    ("a skateboarder skidding on the ramp", False),
    ("A man is crossing a mountain pass on a metal bridge.", False),
    ("a woman reading in the park", False),
    ("a 30-year-old man running", False),
    ("a sixteen year old driving", False),
    ("aged 40 and happy", False),
    ("coming soon", False),
    ("a dog in a kiddie pool", False),
    ("a baby blue car", False),
    ("the childless couple at dinner", False),
    ("a girlish smile on an old woman", False),
    ("boyish charm of a grown man", False),
    ("детектив читает газету", False),
    ("сыр и хлеб", False),
    ("мужчина на мосту", False),
    ("'); DROP TABLE scores; --", False),
    ("", False),
    ("   ", False),
    # ambiguous forms, decided
    ("my boyfriend and I", False),
    ("her girlfriend laughing", False),
    ("a young man on a bike", False),
    ("young women at a cafe", False),
    ("a goat and a goat's kid", False),
    ("a kid goat on a farm", False),
    ("handled with kid gloves", False),
    ("парень на мосту", False),
    ("девушка с зонтом", False),
    ("a young boy on a bike", True),          # "young man" is adult, "young boy" is not
    ("a goat and a kid", True),               # without "goat kid", a kid is a child
]


@pytest.fixture(scope="module")
def vocab():
    import duckdb

    from ws_core.db import migrate
    con = duckdb.connect()
    migrate(con)
    return policy.load_vocabulary(con)


def test_labelled_list_is_big_enough():
    assert len(LABELLED) >= 80
    assert sum(1 for _, y in LABELLED if not y) >= 25


@pytest.mark.parametrize("text,expected", LABELLED, ids=[t[:40] or "empty" for t, _ in LABELLED])
def test_labelled_queries(vocab, text, expected):
    decision = policy.check(text, vocab)
    assert decision.is_child is expected, decision.evidence
    assert bool(decision.evidence) is expected


def test_evidence_names_what_matched(vocab):
    assert policy.check("Two blonde boys and a 5-year-old", vocab).evidence == ["boys", "age 5: 5 year old"]
    assert policy.check("a goat's kid", vocab).evidence == []
    assert policy.check("мама и дочка", vocab).reason == "the query asks for photos of children"


@pytest.mark.parametrize("raw,norm", [
    ("ＣＨＩＬＤ", "child"), ("Bóy", "boy"), ("c\u200bh\u200di\u2060ld", "child"), ("ребёнок", "ребенок"),
    ("k1ds", "kids"), ("5yo", "5yo"), ("12th", "12th"), ("kiiiiids", "kiids"), ("a\x00b\tc", "a b c"),
    ("kids!", "kids!"), ("\u0441hild", "child"), ("дeти", "дети"),
])
def test_normalize(raw, norm):
    assert normalize(raw) == norm


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent_and_check_never_crashes(vocab, text):
    once = normalize(text)
    assert normalize(once) == once
    policy.check(text, vocab)


# Red-team probes (issue 13): characters that once let a child query through. Written by hand, apart
# from the look-alike table the normaliser builds from Unicode's data.
PROBES = [
    "Two blonde bo\x01ys are having a water fight", "Two blonde bo\x00ys", "Two blonde bo\x7fys",
    "Two blonde bo\x1bys", "Two blonde bo\x85ys", "Two blonde bo\tys", "Two blonde bo\nys",
    "Two blonde b\u03bfys", "\u03bakids", "\u03bai\u03b4s".replace("\u03b4", "d"), "k\u0456ds", "b\u0585y",
    "\u1d0b\u026a\u1d05\ua731 in the park", "k\u0131ds", "k/i/d/s on a slide", "b\\o\\y",
    "the children's choir", "childrens choir", "the children\u2019s choir", "the baby's room",
    "c h i l d r e n running", "a k i d on a swing", "д е т и в парке",
]
CONTROLS = ["\x00", "\x01", "\x7f", "\x1b", "\x85", "\t", "\n", "\r", "\u200b", "\u200d", "\u2060", "\u00ad",
            "\ufeff", "\u202e", "\u2028"]
LOOKALIKES = {  # Latin letter -> letters of other scripts (and Latin small capitals) that look like it
    "a": "\u0430\u0251\u1d00", "b": "\u0299", "c": "\u0441\u03f2\u1d04", "d": "\u1d05", "e": "\u0435\u1d07",
    "f": "\ua730", "g": "\u0262", "h": "\u04bb\u029c", "i": "\u0456\u0131\u026a\u03b9", "j": "\u0458\u1d0a",
    "k": "\u03ba\u1d0b\u043a", "l": "\u029f", "m": "\u1d0d", "n": "\u0274", "o": "\u03bf\u0585\u043e\u1d0f",
    "p": "\u0440\u03c1\u1d18", "r": "\u0280", "s": "\ua731\u0455", "t": "\u1d1b\u03c4", "u": "\u1d1c\u03c5",
    "v": "\u1d20\u03bd", "w": "\u1d21", "x": "\u0445", "y": "\u0443\u028f", "z": "\u1d22",
    # Cyrillic letter -> Latin and Greek look-alikes
    "а": "a", "е": "e", "о": "o\u03bf", "р": "p", "с": "c", "у": "y", "х": "x", "к": "k",
}


@pytest.mark.parametrize("text", PROBES)
def test_red_team_probes_get_the_disclaimer(vocab, text):
    assert policy.check(text, vocab).is_child, text


@functools.cache
def _vocab_terms(kind):
    import duckdb

    from ws_core.db import migrate
    con = duckdb.connect()
    migrate(con)
    rows = con.execute("select term, match from policy_terms where decision = ? order by term", [kind]).fetchall()
    # a stem is tested as a word that starts with it
    return [t + ("а" if match == "prefix" else "") for t, match in rows]


def _perturb(draw, term: str) -> str:
    kind = draw(st.sampled_from(["control", "lookalike", "slashes", "possessive", "mixed"]))
    letters = [i for i, c in enumerate(term) if c.isalpha()]
    chars = list(term)
    if kind in ("lookalike", "mixed"):
        for i in draw(st.lists(st.sampled_from(letters), min_size=1, max_size=3)):
            if chars[i] in LOOKALIKES:
                chars[i] = draw(st.sampled_from(LOOKALIKES[chars[i]]))
    if kind in ("control", "mixed"):
        for i in sorted(draw(st.lists(st.sampled_from(letters[1:] or letters), min_size=1, max_size=2)),
                        reverse=True):
            chars.insert(i, draw(st.sampled_from(CONTROLS)))
    if kind == "slashes" and " " not in term:
        chars = list("/".join(chars))
    out = "".join(chars)
    if kind == "possessive" and term.isascii():
        out += draw(st.sampled_from(["'s", "\u2019s", "s"]))
    return out


@pytest.mark.parametrize("text", ["a photo of я/с/л/и/-/с/а/д in the park", "группа я.с.л.и.с.а.д на прогулке",
                                  "a m/i/n/i/-/m/e in a stroller", "dad and his minime"])
def test_a_hyphenated_child_term_is_found_with_its_parts_joined(vocab, text):
    # views() reads punctuation inside a word as nothing: "ясли-сад" spelled out is "яслисад"
    assert policy.check(text, vocab).is_child


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_tricks_inside_any_child_term_keep_the_disclaimer(vocab, data):
    term = data.draw(st.sampled_from(_vocab_terms("child")))
    text = f"a photo of {_perturb(data.draw, term)} in the park"
    assert policy.check(text, vocab).is_child, repr(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_look_alike_letters_keep_a_not_child_phrase_not_a_child(vocab, data):
    term = data.draw(st.sampled_from(_vocab_terms("not_child")))
    chars = list(term)
    for i in data.draw(st.lists(st.integers(0, len(chars) - 1), max_size=3)):
        if chars[i] in LOOKALIKES:
            chars[i] = data.draw(st.sampled_from(LOOKALIKES[chars[i]]))
    text = "".join(chars)
    # a mixed word of letters that all have a twin in the other script ("саt", "kак") is read both
    # ways, and a child reading wins: the costly error is showing a child
    ambiguous = set("aeopcyxkmthbi") | set("аеорсухкмтнви")
    folded = to_latin()
    assume(not any({folded.get(c, c) for c in w} <= ambiguous and w != t
                   for w, t in zip(text.split(), term.split())))
    assert policy.check(text, vocab).is_child is policy.check(term, vocab).is_child, repr(text)


def test_threshold_for_recall_is_the_highest_that_reaches_it():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.5])
    labels = np.array([True, True, True, True, False, False])
    assert pixels.threshold_for_recall(scores, labels, 1.0) == 0.6
    assert pixels.threshold_for_recall(scores, labels, 0.75) == 0.7
    assert pixels.threshold_for_recall(scores, labels, 0.5) == 0.8


def test_pixel_classifier_reaches_its_recall_target():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.4
    x = rng.normal(size=(300, 20)) + y[:, None] * 0.8
    clf = pixels.fit(x, y, pixels.PixelParams(recall_target=0.9))
    assert clf.metrics["cv_recall"] >= 0.9
    assert clf.metrics["cv_auc"] > 0.9
    assert ((clf.predict_proba(x) >= clf.threshold)[y]).mean() >= 0.9


def test_neighbour_vote_is_the_softmax_weighted_share_and_leaves_a_photo_out():
    bank = pixels.unit_rows(np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float64))
    labels = np.array([True, True, False, False])
    z = np.array([[1.0, 0.05]])
    sims = bank @ pixels.unit_rows(z)[0]
    w = np.exp((sims[:2] - 1) / 0.5)              # k = 2: the two child photos are nearest
    np.testing.assert_allclose(pixels.neighbour_votes(z, bank, labels, 2, 0.5), [1.0])
    np.testing.assert_allclose(pixels.neighbour_votes(z, bank, labels, 3, 0.5),
                               [w.sum() / (w.sum() + np.exp((sims[3] - 1) / 0.5))])
    # the first bank photo itself: left out, its neighbours are the second child and a non-child
    own = pixels.neighbour_votes(bank[:1], bank, labels, 2, 0.5, own=np.array([0]))
    s1, s3 = bank[1] @ bank[0], bank[3] @ bank[0]
    np.testing.assert_allclose(own, [np.exp((s1 - 1) / 0.5) / (np.exp((s1 - 1) / 0.5) + np.exp((s3 - 1) / 0.5))])


def test_pixel_classifier_mixes_in_the_neighbours_where_one_hyperplane_cannot_separate():
    """Children in two opposite clusters: a regression finds no direction, the neighbours do, and
    out-of-fold AUC picks them; the stored numbers give the classifier's own probabilities."""
    rng = np.random.default_rng(0)
    centre = np.where(rng.random(400) < 0.5, 1.0, -1.0)[:, None] * np.r_[3.0, np.zeros(9)]
    y = rng.random(400) < 0.5
    x = np.where(y[:, None], centre, centre[:, ::-1]) + rng.normal(size=(400, 10))
    names = [f"p{i}.jpg" for i in range(400)]
    clf = pixels.fit(x, y, pixels.PixelParams(recall_target=0.9, knn_weights=(0.0, 0.5, 1.0)), names)
    m = clf.metrics
    assert m["knn_weight"] > 0 and m["cv_auc"] > m["cv_auc_regression"] + 0.2 and m["cv_auc_neighbours"] > 0.9
    stored = clf.linear()
    assert stored["knn_images"] == names and stored["knn_labels"] == y.tolist()
    np.testing.assert_allclose(pixels.probability(stored, x[:50], names[:50]), clf.predict_proba(x[:50], names[:50]))
    # a photo of the bank is not its own neighbour: outside the bank its vote counts itself
    inside, outside = pixels.probability(stored, x[:50], names[:50]), pixels.probability(stored, x[:50])
    assert (np.abs(inside - outside) > 1e-6).any()
    child = y[:50]
    assert (outside[child] >= inside[child] - 1e-12).all() and (outside[~child] <= inside[~child] + 1e-12).all()


def test_pixel_classifier_needs_both_classes():
    with pytest.raises(ValueError, match="need at least 2 described photos with and without children"):
        pixels.fit(np.zeros((5, 3)), np.array([1, 0, 0, 0, 0], dtype=bool))


@pytest.fixture
def flagged(con, sample):
    run_ingest(con, [sample])
    run_embed(con, "fake-image", "fake-text")
    result = run_policy(con, "fake-image", log=lambda m: None)
    return con, result


def test_stored_pixel_model_reads_its_neighbours_back_and_gives_the_flags(flagged):
    """A run with the neighbours' vote forced in: the stored classifier, its neighbours' vectors read
    back from image_embeddings, gives every photo the probability its flag was written with."""
    con, _ = flagged
    run_policy(con, "fake-image", pixels.PixelParams(knn_weights=(0.5,)), force=True, log=lambda m: None)
    (version,), = table(con, "select distinct encoder from image_embeddings")
    model = policy.pixel_model(con, version)
    assert model["knn_weight"] == 0.5 and len(model["knn_bank"]) == len(model["knn_images"]) > 0
    assert len(model["knn_labels"]) == len(model["knn_images"])
    rows = table(con, "select image, vector from image_embeddings order by image")
    images, features = [im for im, _ in rows], np.array([v for _, v in rows], dtype=np.float32)
    prob = policy.pixel_probability(model, features, images)
    stored = dict(table(con, "select entity_id, score from policy_flags where source = 'pixels'"))
    assert {im for im, p in zip(images, prob) if p >= model["threshold"]} == set(stored)
    np.testing.assert_allclose([prob[images.index(im)] for im in stored], list(stored.values()), atol=1e-6)  # float[] columns


def test_policy_run_neighbours_mixes_them_in_and_says_how_much(runner, db):
    out = runner.invoke(main, ["policy", "run", "--neighbours", "--force"])
    assert out.exit_code == 0, out.output
    line = next(line for line in out.stdout.splitlines() if line.startswith("pixel classifier:"))
    weight = re.search(r"\(regression 0\.\d{3}, neighbours 0\.\d{3}, their weight (0\.0|0\.5|1\.0)\)$", line)
    assert weight, line
    con = wsdb.connect_read_only(db)
    (stored,), = table(con, "select m.knn_weight from policy_pixel_models m join policy_runs r using (job_run_id) "
                            "order by r.finished_at desc limit 1")
    con.close()
    assert stored == float(weight.group(1))


def test_policy_job_flags_queries_descriptions_and_pixels(flagged):
    con, result = flagged
    queries = table(con, "select t.text_id from texts t where t.is_train_query or t.is_test_query")
    vocab = policy.load_vocabulary(con)
    expected_queries = sorted(tid for (tid,) in queries
                              if policy.check(table(con, "select text from texts where text_id = ?",
                                                    [tid])[0][0], vocab).is_child)
    assert sorted(i for (i,) in table(con, "select entity_id from policy_flags where entity_kind = 'query' "
                                           "order by 1")) == expected_queries
    assert result.flags["vocabulary"] == len(expected_queries) > 0
    # a described photo is flagged iff one of its descriptions asks for a child; evidence quotes it
    for image, evidence in table(con, "select entity_id, evidence from policy_flags "
                                      "where source = 'description'"):
        texts = [t for (t,) in table(con, "select text from texts where image = ? and is_description",
                                     [image])]
        assert any(t in evidence for t in texts if policy.check(t, vocab).is_child)
    assert not table(con, "select 1 from policy_flags f join photos p on p.image = f.entity_id "
                          "where f.source = 'description' and p.split = 'test'")
    m = result.metrics
    assert m["cv_recall"] >= 0.95 and m["threshold"] == pytest.approx(
        table(con, "select value from policy_metrics where metric = 'threshold'")[0][0])
    n_pix = table(con, "select count(*) from policy_flags where source = 'pixels' and score >= ?",
                  [m["threshold"]])[0][0]
    assert n_pix == result.flags["pixels"]
    assert 0 <= m["test_recall"] <= 1 and m["test_photos"] == 12


def test_policy_rerun_skips_and_force_rebuilds(flagged):
    con, first = flagged
    before = table(con, "select * exclude (job_run_id) from policy_flags order by all")
    assert run_policy(con, "fake-image", log=lambda m: None).run_id is None
    again = run_policy(con, "fake-image", force=True, log=lambda m: None)
    assert again.run_id != first.run_id
    assert table(con, "select * exclude (job_run_id) from policy_flags order by all") == before
    con.execute("update texts set text = 'a toddler asleep' where text_id = "
                "(select min(text_id) from texts where is_test_query)")
    assert run_policy(con, "fake-image", log=lambda m: None).run_id is not None


def test_consent_and_region_decide_what_is_hidden(flagged):
    con, _ = flagged
    image = table(con, "select min(entity_id) from policy_flags where entity_kind = 'photo'")[0][0]
    hidden = policy.hidden_photos(con)
    assert image in hidden and hidden[image] == policy.REASON_PHOTO
    assert len(hidden) == table(con, "select count(*) from stg_photo_policy where hidden")[0][0]
    cid = policy.add_consent(con, image, "Anna Petrova", note="form 12")
    assert image not in policy.hidden_photos(con)
    assert table(con, "select hidden, consent_id from stg_photo_policy where image = ?", [image]) == [(False, cid)]
    assert policy.revoke_consent(con, image) == 1
    assert image in policy.hidden_photos(con)
    policy.add_consent(con, image, "Anna Petrova", scope="kz")
    assert image in policy.hidden_photos(con) and image not in policy.hidden_photos(con, "kz")
    policy.set_region(con, "ge", False)
    assert policy.hidden_photos(con, "ge") == {} and policy.rule_applies(con, "fr")
    policy.set_region(con, "default", False)
    assert not policy.rule_applies(con, "fr") and policy.hidden_photos(con) == {}


def test_consent_errors(flagged):
    con, _ = flagged
    with pytest.raises(Exception, match="No photo named 'nope.jpg'"):
        policy.add_consent(con, "nope.jpg", "someone")
    with pytest.raises(Exception, match="No valid consent with id or photo 'c-none'"):
        policy.revoke_consent(con, "c-none")


def test_policy_summary_view(flagged):
    con, result = flagged
    rows = dict(((c, m), v) for c, m, v in table(con, "select * from rpt_policy_summary"))
    assert rows[("queries", "test queries")] == table(con, "select count(*) from texts where is_test_query")[0][0]
    assert rows[("queries", "test queries asking for children (disclaimer)")] == table(
        con, "select count(*) from policy_flags f join texts t on t.text_id = f.entity_id "
             "where f.entity_kind = 'query' and t.is_test_query")[0][0]
    assert rows[("photos", "test photos flagged by descriptions")] == 0
    assert rows[("pixel classifier", "threshold")] == pytest.approx(result.metrics["threshold"])


def test_cli_check_and_disclaimer(runner):
    out = runner.invoke(main, ["policy", "check", "two little girls playing"])
    assert out.exit_code == 0
    assert out.stdout.splitlines()[:3] == ["decision: asks for children (decided by the vocabulary)",
                                          "evidence: girls", "rule applies in region default: yes"]
    assert out.stderr == ("note: no trained query classifier (run `ws policy run`): decided by the "
                          "vocabulary alone\n")
    assert "disclaimer (the query asks for photos of children): We cannot show photos" in out.output
    out = runner.invoke(main, ["policy", "check", "kidney beans", "--json"])
    assert out.stdout.strip() == ('{"query": "kidney beans", "asks_for_children": false, "evidence": [], '
                                  '"source": null, "score": null, "notes": [], "rule_applies": true, '
                                  '"disclaimer": null}')
    out = runner.invoke(main, ["policy", "check", "дети в парке", "--lang", "ru"])
    assert "disclaimer (the query asks for photos of children): Мы не можем показать" in out.output
    out = runner.invoke(main, ["policy", "check", "дети в парке"])          # Cyrillic: Russian by default
    assert "disclaimer (the query asks for photos of children): Мы не можем показать" in out.output


def test_cli_check_file_answers_one_json_line_a_text(runner, tmp_path):
    texts = tmp_path / "q.txt"
    texts.write_text("kidney beans\n\nдети в парке\ntwo boys fishing\n", encoding="utf-8")
    out = runner.invoke(main, ["policy", "check", "--file", str(texts), "--json"])
    assert out.exit_code == 0, out.output
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["query"], r["asks_for_children"], r["evidence"]) for r in rows] == [
        ("kidney beans", False, []), ("дети в парке", True, ["дети"]), ("two boys fishing", True, ["boys"])]
    assert rows[0]["disclaimer"] is None and rows[1]["disclaimer"].startswith("Мы не можем показать")
    assert rows[2]["disclaimer"].startswith("We cannot show photos")
    out = runner.invoke(main, ["policy", "check", "--file", str(texts)])
    assert out.stdout.splitlines()[0] == "# kidney beans" and out.stdout.count("decision: ") == 3
    out = runner.invoke(main, ["policy", "check", "kids", "--file", str(texts)])
    assert out.exit_code == 2 and "give a TEXT or --file FILE (one text a line), not both" in out.output


def test_cli_check_file_reads_utf16_with_its_mark_and_refuses_it_without(runner, tmp_path):
    content = "kidney beans\r\n\r\nдети в парке\r\n"
    utf8, utf16, bare = tmp_path / "utf8.txt", tmp_path / "utf16.txt", tmp_path / "bare.txt"
    utf8.write_bytes(content.encode("utf-8"))
    utf16.write_bytes(content.encode("utf-16"))        # Windows Notepad's "Unicode"
    bare.write_bytes(content.encode("utf-16-le"))
    answers = [runner.invoke(main, ["policy", "check", "--file", str(p), "--json"]) for p in (utf8, utf16)]
    assert [a.exit_code for a in answers] == [0, 0]
    assert answers[1].stdout == answers[0].stdout
    assert [json.loads(line)["query"] for line in answers[1].stdout.splitlines()] == ["kidney beans", "дети в парке"]
    out = runner.invoke(main, ["policy", "check", "--file", str(bare)])
    assert out.exit_code == 1 and out.stdout == ""
    assert out.stderr.strip() == (f"Error: {bare}: file looks like UTF-16 or UTF-32 without a byte order mark (a "
                                  "quarter or more of its first bytes are NUL); save the file as UTF-8")


def test_cli_consent_region_terms_and_flags(runner, flagged):
    con, _ = flagged
    image = table(con, "select min(entity_id) from policy_flags where entity_kind = 'photo'")[0][0]
    described, n_described = table(con, "select min(entity_id), count(*) from policy_flags "
                                        "where source = 'description'")[0]
    con.close()
    out = runner.invoke(main, ["policy", "consent", "add", image, "--by", "Anna Petrova"])
    assert out.exit_code == 0 and out.output.startswith("consent c-") and f"recorded for {image} (scope all)" in out.output
    listed = runner.invoke(main, ["policy", "consent", "list"]).output
    assert image in listed and "Anna Petrova" in listed
    assert runner.invoke(main, ["policy", "consent", "revoke", image]).output == "revoked 1 consent\n"
    assert runner.invoke(main, ["policy", "consent", "list"]).output == "no consents\n"
    assert image in runner.invoke(main, ["policy", "consent", "list", "--all"]).output
    bad = runner.invoke(main, ["policy", "consent", "revoke", image])
    assert bad.exit_code == 1 and f"Error: No valid consent with id or photo '{image}'." in bad.output
    out = runner.invoke(main, ["policy", "region", "ge", "--no-rule"])
    assert out.exit_code == 0 and "     ge          False" in out.output
    assert "rule applies in region ge: no" in runner.invoke(main, ["policy", "check", "kids", "--region", "ge"]).output
    assert runner.invoke(main, ["policy", "region", "ge"]).exit_code == 2
    flags = runner.invoke(main, ["policy", "flags", "--source", "description"]).output
    assert described in flags and flags.endswith(f"{n_described} photos flagged by description\n")
    out = runner.invoke(main, ["policy", "terms", "--add", "lad", "child"])
    assert out.output == "'lad' (en) is now child; run `ws policy run` to refresh the flags\n"
    assert "evidence: lad" in runner.invoke(main, ["policy", "check", "a lad fishing"]).output
    assert runner.invoke(main, ["policy", "terms", "--remove", "lad"]).exit_code == 0
    assert "evidence: none" in runner.invoke(main, ["policy", "check", "a lad fishing"]).output
    out = runner.invoke(main, ["policy", "disclaimer", "--lang", "ru", "--set", "Нельзя."])
    assert out.output == "Нельзя.\n"
    out = runner.invoke(main, ["policy", "disclaimer", "--photo", "--set", "Not this photo."])
    assert out.output == "Not this photo.\n"
    assert runner.invoke(main, ["policy", "disclaimer", "--lang", "ru"]).output == "Нельзя.\n"
    assert runner.invoke(main, ["policy", "disclaimer", "--photo", "--lang", "ru"]).output.startswith(
        "Мы не можем показать эту фотографию")
