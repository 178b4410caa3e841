import numpy as np
import pytest

from jobs.embed import run_embed
from jobs.ingest import run_ingest
from jobs.train import run_train
from ws_core import training
from ws_core.corpus import load_corpus
from ws_core.scorers import load_scorer, save_scorer
from ws_core.errors import WsError
from ws_core.memo import Cache
from ws_core.scorers.bridges import (CaptionTransfer, CaptionTransferParams, PhotoTransfer,
                                     PhotoTransferParams, WordVectors)
from tests.conftest import table

FAST = ["linear", "label_bridge", "caption_transfer", "two_tower"]


@pytest.fixture
def embedded(con, sample):
    run_ingest(con, [sample])
    run_embed(con, "fake-image", "fake-text")
    return con


@pytest.fixture
def corpus(embedded):
    return load_corpus(embedded, "fake-image/v1", "fake-text/v1")


def test_targets_view_formula(con):
    con.executemany("insert into expert_annotations values (?, ?, ?, ?, ?, 'r')",
                    [("a.jpg", "b.jpg#0", 1, 2, 4), ("a.jpg", "c.jpg#0", 4, 4, 4)])
    con.executemany("insert into crowd_annotations values (?, ?, ?, ?, ?, 'r')",
                    [("a.jpg", "c.jpg#0", 0.5, 1, 1), ("d.jpg", "d.jpg#1", 1.0, 3, 0)])
    rows = table(con, "select image, text_id, target, target_source, is_own_text from train_targets "
                      "order by image, text_id")
    assert [r[:2] + r[3:] for r in rows] == [
        ("a.jpg", "b.jpg#0", "expert", False), ("a.jpg", "c.jpg#0", "both", False),
        ("d.jpg", "d.jpg#1", "crowd", True)]
    assert [r[2] for r in rows] == pytest.approx([4 / 9, (2 * 1.0 + 0.5) / 3, 1.0])


def test_folds_never_leak_a_photo_or_a_text(corpus):
    t = corpus.targets
    fold = training.photo_folds(corpus, 3, seed=0)
    assert set(fold[corpus.image_split == "test"]) == {-1}
    evaluated = np.zeros(len(t), dtype=int)
    for f in range(3):
        held_rows, train_rows, hidden, train_photos = training.split(corpus, fold, f)
        held = set(np.flatnonzero(fold == f).tolist())
        train, test = t[train_rows], t[held_rows]
        assert not set(train["img"]) & held                           # no held-out photo
        assert not set(corpus.text_photo[train["txt"]]) & held        # nor a text written for one
        assert not set(train["txt"]) & set(test["txt"])               # nor a text of a held-out pair
        assert not set(train_photos) & held
        assert set(test["txt"]) <= set(hidden.tolist())
        with corpus.hiding(hidden):
            lent = {int(x) for ts in corpus.descriptions_of(train_photos).values() for x in ts}
        assert not lent & set(hidden.tolist())
        assert held_rows.sum() > 0 and train_rows.sum() > 0
        evaluated += held_rows
    assert evaluated.max() == 1   # a pair is evaluated in one fold at most


def test_training_only_photos_teach_in_every_fold_and_are_never_held_out(embedded):
    """Photos of a training_only_datasets folder (more-photos) join every fold's training side."""
    some = [im for (im,) in table(embedded, "select image from photos where split = 'train' order by image limit 9")]
    embedded.execute("update photos set dataset = 'more-photos' where image in (select unnest(?))", [some])
    corpus = load_corpus(embedded, "fake-image/v1", "fake-text/v1")
    only = {corpus.image_index[im] for im in some}
    assert set(np.flatnonzero(corpus.training_only)) == only
    fold = training.photo_folds(corpus, 3, seed=0)
    assert set(fold[sorted(only)]) == {-1}
    described = set(corpus.descriptions_of())
    for f in range(3):
        _, _, hidden, train_photos = training.split(corpus, fold, f)
        assert only & described <= set(train_photos.tolist())
        assert not set(corpus.text_photo[hidden]) & only


def test_calibrated_scores_never_tie_where_raw_scores_differ():
    from ws_core.numeric import Calibration
    rng = np.random.default_rng(0)
    raw = rng.normal(size=3000)
    target = np.clip(0.6 * (raw > 0.2) + rng.normal(0, 0.25, 3000), 0, 1)
    cal = Calibration.fit(raw, target)
    grid = np.sort(np.r_[rng.normal(size=20000) * 3, raw])
    grid = np.unique(grid)
    out = cal.predict(grid)
    assert np.all(np.diff(out) > 0) and out.min() > 0 and out.max() < 1
    # still the isotonic fit where it is flat between knots' levels: close on the training scores
    from sklearn.isotonic import IsotonicRegression
    iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, target)
    assert np.abs(cal.predict(raw) - iso.predict(raw)).mean() < 0.01


def test_word_vectors_are_tf_idf_of_words_in_two_descriptions():
    words = WordVectors.fit(["A dog runs.", "a dog sleeps", "the cat runs"])
    assert words.vocabulary == ["dog", "runs"]     # stop words out, words of one description out
    np.testing.assert_allclose(words.idf, [np.log(4 / 3) + 1] * 2)
    x = words.transform(["Dog, dog runs!", "a cat", ""]).toarray()
    tf = np.asarray([1 + np.log(2), 1.0])           # sublinear counts; equal idf cancels in the norm
    np.testing.assert_allclose(x, [tf / np.linalg.norm(tf), [0, 0], [0, 0]], rtol=1e-6)


def test_word_vectors_of_a_bank_without_shared_words_are_zero():
    words = WordVectors.fit(["one", "two"])
    assert words.vocabulary == [] and words.transform(["one two"]).shape == (1, 0)


@pytest.mark.parametrize("words", [False, True])
def test_caption_transfer_never_borrows_the_texts_own_photo(corpus, words):
    desc = corpus.descriptions_of()
    q, texts = next(iter(desc.items()))
    p = next(i for i in desc if i != q)
    corpus.features[q] = corpus.features[p]          # q is now p's nearest neighbour
    model = CaptionTransfer(CaptionTransferParams(k=1, aggregate="max", words=words)).fit(
        corpus, None, np.asarray(sorted(desc)))
    t = texts[0]
    assert model._text_rows(corpus, [t]).sum() > 0   # the text meets itself at cosine 1
    got = model.score(corpus, np.asarray([p]), np.asarray([t]))[0]
    assert got < 0.999  # borrowing q's own description of itself would give exactly 1.0
    other = next(i for i in desc if i not in (p, q))
    assert model.score(corpus, np.asarray([other]), np.asarray([desc[p][0]]))[0] <= 1.0


@pytest.mark.parametrize("cls,params", [(CaptionTransfer, CaptionTransferParams(aggregate="mean")),
                                        (CaptionTransfer, CaptionTransferParams(aggregate="max", words=True)),
                                        (PhotoTransfer, PhotoTransferParams()),
                                        (PhotoTransfer, PhotoTransferParams(words=True))])
def test_transfers_score_the_same_in_small_chunks(corpus, monkeypatch, cls, params):
    """Memory is bounded by scoring a few texts at a time; the chunks change nothing."""
    from ws_core.scorers import bridges
    photos = np.asarray(sorted(corpus.descriptions_of()))
    rng = np.random.default_rng(0)
    # the fake encoder gives a repeated text the same vector: exact ties, which any partition may
    # break either way; a little noise makes every cosine distinct
    noisy = corpus.text_vectors + rng.normal(0, 1e-3, corpus.text_vectors.shape).astype(np.float32)
    corpus.text_vectors = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    img = rng.choice(len(corpus.images), 3000)
    txt = rng.choice(len(corpus.texts), 3000)
    whole = cls(params).fit(corpus, None, photos).score(corpus, img, txt)
    monkeypatch.setattr(bridges, "CHUNK_COSINES", 7)              # one text a chunk
    chunked = cls(params).fit(corpus, None, photos).score(corpus, img, txt)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-6)      # float32 products: BLAS blocking


def test_photo_transfer_never_lends_the_pairs_photo_nor_the_texts_photo(corpus):
    desc = corpus.descriptions_of()
    q, r, p = sorted(desc)[:3]
    model = PhotoTransfer(PhotoTransferParams(k=1)).fit(corpus, None, np.asarray(sorted(desc)))
    # the text's own photo: q's description is nearest to itself, and p now looks exactly like q
    corpus.features[p] = corpus.features[q]
    assert model.score(corpus, np.asarray([p]), np.asarray([desc[q][0]]))[0] < 0.999
    # the pair's photo: q's description now reads exactly like r's, so it is r's text's nearest
    corpus.text_vectors[desc[q][0]] = corpus.text_vectors[desc[r][0]]
    assert model.score(corpus, np.asarray([q]), np.asarray([desc[r][0]]))[0] < 0.999
    # and what it may lend does count: q's description lends q, photo p is q's twin
    assert model.score(corpus, np.asarray([p]), np.asarray([desc[r][0]]))[0] == pytest.approx(1.0)


def test_model_saved_by_another_version_says_to_retrain(corpus, tmp_path):
    import torch
    model = training.fit_final(corpus, "caption_transfer")
    save_scorer(model, tmp_path / "m.pt")
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    del blob["state"]["feature_mean"]          # as written before photos were centred
    torch.save(blob, tmp_path / "old.pt")
    with pytest.raises(WsError, match=r"old.pt was saved by another version of ws \(KeyError: "
                                      r"'feature_mean'\); run `ws train --force`"):
        load_scorer(tmp_path / "old.pt")


@pytest.mark.parametrize("name", list(training.MODELS))
def test_every_model_saves_reloads_and_scores_in_0_1(corpus, tmp_path, name):
    model = training.fit_final(corpus, name, seed=1)
    queries, photos, _ = training.test_queries(corpus)
    scores = training.score_matrix(model, corpus, queries, photos)
    assert scores.shape == (60, 12)
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    sha = save_scorer(model, tmp_path / "m.pt")
    assert len(sha) == 64
    again = training.score_matrix(load_scorer(tmp_path / "m.pt"), corpus, queries, photos)
    np.testing.assert_array_equal(scores, again)


@pytest.mark.parametrize("name", ["two_tower", "pair_mlp"])
def test_training_is_deterministic_with_a_seed(corpus, name):
    queries, photos, _ = training.test_queries(corpus)
    # each with its own cache: trained from scratch twice, not served the first fit's towers
    a = training.score_matrix(training.fit_final(corpus, name, seed=3, cache=training.run_cache()),
                              corpus, queries, photos)
    b = training.score_matrix(training.fit_final(corpus, name, seed=3, cache=training.run_cache()),
                              corpus, queries, photos)
    np.testing.assert_array_equal(a, b)


def test_train_job_registers_models_and_activates_the_best(embedded, tmp_path, monkeypatch):
    result = run_train(embedded, tmp_path / "art", FAST, folds=3, image_encoder="fake-image",
                       text_encoder="fake-text", log=lambda m: None)
    assert [e.name for e in result.trained] == FAST
    assert table(embedded, "select count(*), count(*) filter (where is_active) from models") == [(4, 1)]
    assert table(embedded, "select count(*) from model_metrics where split = 'cv'") == [(4 * 8,)]
    assert table(embedded, "select count(*) from model_metrics where split = 'test'") == [(4 * 5,)]
    board = table(embedded, "select name, is_active, cv_mrr from rpt_model_leaderboard")
    assert sorted(r[0] for r in board) == sorted(FAST)
    best = max(board, key=lambda r: r[2])
    assert result.active == f"{best[0]}-{result.run_id}" and best[1] is True
    (artifact, sha), = table(embedded, "select artifact, sha256 from models where is_active")
    import hashlib
    assert hashlib.sha256(open(artifact, "rb").read()).hexdigest() == sha
    # nothing changed: nothing is trained again
    again = run_train(embedded, tmp_path / "art", FAST, folds=3, image_encoder="fake-image",
                      text_encoder="fake-text", log=lambda m: None)
    assert again.trained == [] and again.skipped == FAST
    # a model reaching the expert tau-c floor wins over better retrieval below it
    from ws_core.training import choose_active as _activate
    worst = min(board, key=lambda r: r[2])[0]
    embedded.execute("update model_metrics set value = case when model_id like ? then 0.6 else 0.3 end "
                     "where split = 'cv' and metric = 'tau_c'", [f"{worst}-%"])
    assert _activate(embedded) == f"{worst}-{result.run_id}"
    embedded.execute("update model_metrics set value = 0.3 where split = 'cv' and metric = 'tau_c'")
    assert _activate(embedded) == f"{best[0]}-{result.run_id}"   # none reaches it: all compete
    assert table(embedded, "select count(*) from models") == [(4,)]
    # the same data and settings under changed model code: trained again
    import jobs.train
    monkeypatch.setattr(jobs.train, "code_version", lambda: "another version of the scorers")
    third = run_train(embedded, tmp_path / "art", FAST[:1], folds=3, image_encoder="fake-image",
                      text_encoder="fake-text", log=lambda m: None)
    assert [e.name for e in third.trained] == FAST[:1] and third.skipped == []


def test_code_version_follows_the_scorers_source(tmp_path, monkeypatch):
    import jobs.train
    first = jobs.train.code_version()
    assert first == jobs.train.code_version() and len(first) == 64
    fake = tmp_path / "jobs" / "train.py"
    (tmp_path / "ws_core" / "scorers").mkdir(parents=True)
    fake.parent.mkdir()
    for name in ("training.py", "memo.py"):
        (tmp_path / "ws_core" / name).write_text("x = 1\n")
    (tmp_path / "ws_core" / "scorers" / "pair.py").write_text("HEAD = 'linear'\n")
    monkeypatch.setattr(jobs.train, "__file__", str(fake))
    before = jobs.train.code_version()
    (tmp_path / "ws_core" / "scorers" / "pair.py").write_text("HEAD = 'mlp'\n")
    assert jobs.train.code_version() != before != first


@pytest.mark.parametrize("options, bridges", [
    (dict(known_pairs=1.0, balance=True, photo_transfer=False, words=True),
     ["cap_mean.", "cap_max.", "tower.", "words."]),
    (dict(head="mlp", members=2, text_length=True, photo_words=True),
     ["cap_mean.", "cap_max.", "tower.", "photo.", "words.", "photo_words."])])
def test_pair_scorer_options_round_trip(corpus, tmp_path, options, bridges):
    from ws_core.scorers.pair import PairParams, PairScorer
    described = np.asarray(sorted(corpus.descriptions_of()))
    model = PairScorer(PairParams(**options)).fit(corpus, corpus.targets, described, seed=2)
    assert list(model.bridges) == bridges
    queries, photos, _ = training.test_queries(corpus)
    scores = training.score_matrix(model, corpus, queries, photos)
    save_scorer(model, tmp_path / "p.pt")
    np.testing.assert_array_equal(scores, training.score_matrix(load_scorer(tmp_path / "p.pt"),
                                                                corpus, queries, photos))
    assert 0.0 <= scores.min() and scores.max() <= 1.0


def test_known_pairs_are_own_descriptions_and_other_photos(corpus):
    from ws_core.scorers.pair import _with_known_pairs
    described = np.asarray(sorted(corpus.descriptions_of()))
    pairs = _with_known_pairs(corpus, corpus.targets.iloc[:0], described, 0.5, seed=0)
    pos, neg = pairs[pairs["target"] == 1.0], pairs[pairs["target"] == 0.0]
    assert len(pos) == sum(len(v) for v in corpus.descriptions_of(described).values())
    assert (corpus.text_photo[pos["txt"]] == pos["img"]).all()
    assert (corpus.text_photo[neg["txt"]] != neg["img"]).all()
    assert set(pairs["weight"]) == {0.5}


def test_search_stage_one_ranks_photos_as_the_first_tower_does(corpus):
    from ws_core.scorers.bridges import TwoTower, TwoTowerParams
    from ws_core.search import stage_one_dims
    described = np.asarray(sorted(corpus.descriptions_of()))
    joined = TwoTower(TwoTowerParams(members=3)).fit(corpus, None, described, seed=0)
    first = TwoTower(TwoTowerParams(members=1))
    first.mean, first.std, first.nets = joined.mean, joined.std, joined.nets[:1]
    d, texts = stage_one_dims(joined), corpus.text_vectors[:4]
    sliced = joined.project_photos(corpus)[:, :d] @ joined.project_texts(texts)[:, :d].T
    np.testing.assert_allclose(3 * sliced, first.project_photos(corpus) @ first.project_texts(texts).T,
                               atol=1e-5)
    # and the joined cosine is the members' mean cosine
    members = []
    for net in joined.nets:
        first.nets = [net]
        members.append(first.project_photos(corpus) @ first.project_texts(texts).T)
        first._last_img = None
    np.testing.assert_allclose(joined.project_photos(corpus) @ joined.project_texts(texts).T,
                               np.mean(members, axis=0), atol=1e-5)


def test_mlp_follows_the_heavier_rows():
    from ws_core.scorers.seed import MLPParams, run_mlp, train_mlp
    x = np.tile([[1.0], [-1.0]], (200, 1))        # two inputs, each seen with targets 0.1 and 0.9
    y = np.tile([0.1, 0.9], 200)
    y[200:] = 1 - y[200:]
    w = np.where(np.arange(400) < 200, 9.0, 1.0)  # the first half of the rows counts 9 times
    net = train_mlp(x, y, MLPParams(hidden=8, epochs=600, batch_size=400, lr=0.05, dropout=0.0), seed=0, weights=w)
    np.testing.assert_allclose(run_mlp(net, np.asarray([[1.0], [-1.0]])), [0.18, 0.82], atol=0.02)


def test_a_query_slot_scores_as_the_stored_text_words_included(corpus):
    """Search writes each query's vector and words into the extra text row of its own copy."""
    model = training.fit_final(corpus, "pair_linear")
    queries, photos, _ = training.test_queries(corpus)
    n_texts, vectors = len(corpus.texts), corpus.text_vectors.copy()
    own, slot = corpus.with_query_slot()
    cache, q = Cache(), queries[0]
    own.text_vectors[slot], own.raw_texts[slot] = corpus.text_vectors[q], corpus.raw_texts[q]
    stored = model.score(corpus, photos, np.full(len(photos), q))
    np.testing.assert_allclose(model.score(own, photos, np.full(len(photos), slot), cache), stored)
    own.raw_texts[slot] = ""        # the words count: without them the scores change
    assert not np.allclose(model.score(own, photos, np.full(len(photos), slot), cache), stored)
    assert len(corpus.texts) == n_texts and np.array_equal(corpus.text_vectors, vectors)   # never written


def test_scorers_keep_nothing_derived_from_a_corpus(corpus):
    """Neighbours, projections and photo cosines go to the caller's cache: a scorer scores a copy of
    the corpus with one more photo right after scoring the corpus, and its attributes stay as fit left them."""
    model = training.fit_final(corpus, "pair_mlp")
    queries, photos, _ = training.test_queries(corpus)
    parts = [model, model.label, *model.bridges.values(), *(t for _, t in model.inner.values())]
    before = [{k: id(v) for k, v in vars(p).items()} for p in parts]
    img, txt = np.tile(photos, 2), np.repeat(queries[:2], len(photos))
    first = model.score(corpus, img, txt)
    cache = Cache()
    np.testing.assert_array_equal(model.score(corpus, img, txt, cache), first)
    assert len(cache.tables) > 0 and [{k: id(v) for k, v in vars(p).items()} for p in parts] == before
    grown, new = corpus.with_photo("<file>x.jpg", corpus.features[photos[0]] * 0 + 1, corpus.label_probs[photos[0]])
    scores = model.score(grown, np.r_[img, [new, new]], np.r_[txt, queries[:2]])
    np.testing.assert_allclose(scores[:len(img)], first, rtol=0, atol=1e-6)
    assert len(grown.images) == len(corpus.images) + 1
    with pytest.raises(ValueError, match="serves the one corpus"):
        model.score(grown, img, txt, cache)


def test_a_run_cache_shares_scoring_signals_between_heads_only(corpus, monkeypatch):
    from ws_core.scorers import pair
    monkeypatch.setattr(pair, "SHARED_SCORING_PAIRS", 0)     # every call shares
    cache = training.run_cache()
    model = training.fit_final(corpus, "pair_linear", cache=cache)
    queries, photos, _ = training.test_queries(corpus)
    img, txt = np.tile(photos, 3), np.repeat(queries[:3], len(photos))
    signals = (lambda: sum(k[0] == "pair-scoring-signals" for k in cache))
    first = model.score(corpus, img, txt, cache)
    np.testing.assert_array_equal(model.score(corpus, img, txt, cache), first)
    assert signals() == 1
    other = training.fit_final(corpus, "pair_linear_balanced", cache=cache)   # same bridges, other head
    assert other.score(corpus, img, txt, cache).shape == first.shape and signals() == 1
    refit = training.fit_final(corpus, "pair_linear", seed=1, cache=cache)    # other towers: own signals
    refit.score(corpus, img, txt, cache)
    assert signals() == 2
    searcher = Cache()                  # a searcher's cache keeps no signals: its query row changes
    model.score(corpus, img, txt, searcher)
    assert not any(k[0] == "pair-scoring-signals" for k in searcher)


def test_pair_inner_towers_are_cross_validations_own(corpus):
    """Inner folds laid like the outer ones: the final pair model fits no tower of its own beyond
    the final one, and cross-validation shares each inner tower between two outer folds."""
    cache = training.run_cache()

    def towers():
        return sum(isinstance(k, tuple) and k[0] == "two-tower" for k in cache)
    training.cross_validate(corpus, "two_tower", folds=5, seed=0, cache=cache)
    assert towers() == 5
    training.fit_final(corpus, "pair_linear", seed=0, cache=cache)
    assert towers() == 6
    training.cross_validate(corpus, "pair_linear", folds=5, seed=0, cache=cache)
    assert towers() == 6 + 10     # one per pair of folds left out, not 5 x 4


def test_seed_mlp_scores_by_parts_as_the_network_does(corpus):
    from ws_core.scorers.seed import _concat, run_mlp
    model = training.fit_final(corpus, "mlp")
    queries, photos, _ = training.test_queries(corpus)
    img, txt = np.tile(photos, len(queries)), np.repeat(queries, len(photos))
    whole = run_mlp(model.net, (_concat(corpus, img, txt) - model.mean) / model.std)
    np.testing.assert_allclose(model.score(corpus, img, txt), whole, rtol=0, atol=1e-5)
    assert whole.std() > 0.01          # a network that ranks, not a constant


def test_pair_scorer_scores_training_photos_with_the_tower_that_never_saw_them(corpus, tmp_path):
    model = training.fit_final(corpus, "pair_linear")
    described = np.asarray(sorted(corpus.descriptions_of()))
    in_folds = np.intersect1d(np.flatnonzero(training.photo_folds(corpus, 5, 0) >= 0), described)
    names = [n for held, _ in model.inner.values() for n in held]
    assert sorted(names) == sorted(corpus.images[i] for i in in_folds)     # each in exactly one fold
    held, tower = model.inner[0]
    img = np.full(len(corpus.texts), corpus.image_index[held[0]])
    txt = np.arange(len(corpus.texts))
    col = model.signal_names().index("tower.")
    assert model.signal_names()[:4] == ["cap_mean.", "cap_max.", "tower.", "label."]
    column = model._scoring_signals(corpus, img, txt, Cache())[:, col]
    np.testing.assert_allclose(column, tower.score(corpus, img, txt), rtol=0, atol=1e-6)
    assert np.abs(column - model.bridges["tower."].score(corpus, img, txt)).max() > 0.01
    _, photos, _ = training.test_queries(corpus)       # unseen photos: the final tower
    unseen = np.full(len(txt), photos[0])
    np.testing.assert_allclose(model._scoring_signals(corpus, unseen, txt, Cache())[:, col],
                               model.bridges["tower."].score(corpus, unseen, txt), rtol=0, atol=1e-6)
    save_scorer(model, tmp_path / "m.pt")
    loaded = load_scorer(tmp_path / "m.pt")
    np.testing.assert_allclose(loaded.score(corpus, img, txt), model.score(corpus, img, txt), rtol=0, atol=1e-9)


def test_word_vectors_count_words_as_scikit_learn_does():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    from ws_core.scorers.bridges import WordVectors
    bank = ["A dog runs on the grass.", "Two dogs run on grass", "a black dog's ball", "Дети играют, dog",
            "dog-sled race in snow", "the snow is white; snow falls", "grass grass grass green"]
    words = WordVectors.fit(bank)
    texts = ["The DOG runs, runs and runs on grass!", "snow", "nothing known here", "", "dog_sled игра дети",
             "Дети dog's snow-snow"]
    x = CountVectorizer(vocabulary=words.vocabulary).transform(texts).astype(np.float32)
    x.data = 1 + np.log(x.data)
    want = normalize(x.multiply(words.idf[None, :]).tocsr()).toarray()
    got = words.transform(texts)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got.toarray(), want, atol=1e-6)
    assert want[0].any() and not want[2].any()


def test_softmax_top_keeps_the_k_most_similar_and_weights_them():
    from ws_core.numeric import softmax_top
    cand = np.array([[10, 11, 12, 13]])
    sim = np.array([[0.1, -np.inf, 0.5, 0.3]])
    top, w = softmax_top(cand, sim, 2, 0.2)
    assert top.tolist() == [[12, 13]]
    e = np.exp(np.array([0.0, -0.2]) / 0.2)
    np.testing.assert_allclose(w, [e / e.sum()])


def test_seed_linear_solves_a_badly_conditioned_system_without_a_warning():
    """300 nearly equal photo features over 20,000 pairs: a condition float32 cannot hold (scipy
    warned "ill-conditioned matrix" once per fold on the full data); solved in float64, the ridge
    still finds the one feature that decides the target."""
    import warnings
    from types import SimpleNamespace

    import pandas as pd

    from ws_core.scorers.seed import SeedLinear
    rng = np.random.default_rng(0)
    feats = (rng.normal(size=(400, 1)) + 1e-3 * rng.normal(size=(400, 300))).astype(np.float32)
    corpus = SimpleNamespace(features=feats, text_vectors=rng.normal(size=(400, 8)).astype(np.float32))
    pairs = pd.DataFrame({"img": rng.integers(0, 400, 20_000), "txt": rng.integers(0, 400, 20_000)})
    pairs["target"] = (feats[pairs.img, 0] > 0).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SeedLinear().fit(corpus, pairs, None)
    scores = model.score(corpus, pairs.img.to_numpy(), pairs.txt.to_numpy())
    assert np.corrcoef(scores, pairs.target)[0, 1] > 0.8
