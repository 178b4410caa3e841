"""Honest evaluation: grouped K-fold by photo, out of fold, then the test queries scored once."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from typing import TYPE_CHECKING

# the leaderboard is in config, where `ws train --help` reads it without numpy
from .config import CRITERION, MODELS, TAU_C_FLOOR

if TYPE_CHECKING:
    from .corpus import Corpus
    from .scorers.base import Scorer


def make_scorer(name: str, **extra) -> Scorer:
    from .scorers import KINDS     # torch: imported when a model is made, not for `ws train --help`
    kind, overrides = MODELS[name]
    cls = KINDS[kind]
    return cls(cls.Params(**{**overrides, **extra}))


@dataclass
class Evaluation:
    name: str
    cv: dict = field(default_factory=dict)
    test: dict = field(default_factory=dict)
    oof: np.ndarray | None = None
    seconds: float = 0.0


def photo_folds(corpus: Corpus, folds: int, seed: int) -> np.ndarray:
    """A fold per train photo (judged or extra), -1 for test photos and for photos of training-only
    datasets (they join every fold's training side); a text follows its photo."""
    rng = np.random.default_rng(seed)
    train = np.flatnonzero((corpus.image_split == "train") & ~corpus.training_only)
    fold = np.full(len(corpus.images), -1)
    fold[train] = rng.permutation(len(train)) % folds
    return fold


def split(corpus: Corpus, fold: np.ndarray, f: int):
    """Fold f's (evaluation pair rows, training pair rows, texts to hide, training photos).

    A text belongs to the fold of the photo it was written for. Evaluation pairs have their photo
    and their text in fold f; training pairs have neither there; pairs that straddle are left out
    of both (with crowd pairs tying nearly every text to every photo group, that is the only way to
    keep both the held-out photos and the held-out texts unseen). Every text of fold f's photos is
    hidden, so no stage learns from or borrows it."""
    t = corpus.targets
    photo_fold = fold[t["img"].to_numpy()]
    text_photo = corpus.text_photo[t["txt"].to_numpy()]
    text_fold = np.where(text_photo >= 0, fold[text_photo], photo_fold)
    held_rows = (photo_fold == f) & (text_fold == f)
    train_rows = (photo_fold != f) & (text_fold != f)
    held_photos = np.flatnonzero(fold == f)
    hidden = np.flatnonzero(np.isin(corpus.text_photo, held_photos))
    described = np.asarray(sorted(corpus.descriptions_of()))
    return held_rows, train_rows, hidden, np.setdiff1d(described, held_photos)


def run_cache():
    """The cache one training run hands down to every model it fits and scores (a run's models
    share their towers, bridges and signals), bounded in bytes (ws_core/memo.py)."""
    from .memo import Cache
    return Cache(table_bytes=512 << 20, keep_signals=True)


def cross_validate(corpus: Corpus, name: str, folds: int = 5, seed: int = 0,
                   overrides: dict | None = None, cache=None) -> Evaluation:
    """Out-of-fold agreement with the judgments (on the pairs inside one fold) and retrieval of
    each held-out photo by its own descriptions among the fold's photos."""
    from . import metrics
    cache = cache if cache is not None else run_cache()
    start = time.perf_counter()
    t = corpus.targets
    fold = photo_folds(corpus, folds, seed)
    oof = np.full(len(t), np.nan)
    ranks = []
    for f in range(folds):
        held_rows, train_rows, hidden, train_photos = split(corpus, fold, f)
        held = np.flatnonzero(fold == f)
        queries = np.asarray([q for ts in corpus.descriptions_of(held).values() for q in ts], dtype=int)
        with corpus.hiding(hidden):
            model = make_scorer(name, **(overrides or {})).fit(corpus, t[train_rows], train_photos, seed, cache)
            if held_rows.any():
                oof[held_rows] = model.score(corpus, t.loc[held_rows, "img"].to_numpy(),
                                             t.loc[held_rows, "txt"].to_numpy(), cache)
            if len(queries):
                ranks.append(metrics.ranks_of_relevant(
                    score_matrix(model, corpus, queries, held, cache),
                    np.searchsorted(held, corpus.text_photo[queries])))
    ranks = np.concatenate(ranks) if ranks else np.zeros(0)
    covered = ~np.isnan(oof)
    pairs = t[covered].assign(score=oof[covered])
    cv = {"rmse": metrics.rmse(pairs["score"], pairs["target"]), "tau_c": metrics.expert_tau_c(pairs),
          "tau_b": metrics.crowd_tau_b(pairs), "r_at_1": float((ranks <= 1).mean()),
          "r_at_5": float((ranks <= 5).mean()), "r_at_10": float((ranks <= 10).mean()),
          "mrr": float((1 / ranks).mean()), "n_pairs": float(covered.sum())}
    return Evaluation(name, cv=cv, oof=oof, seconds=time.perf_counter() - start)


def fit_final(corpus: Corpus, name: str, seed: int = 0, cache=None) -> Scorer:
    """Trained on every judged pair and every described photo (train and extra; test photos have none)."""
    described = np.asarray(sorted(corpus.descriptions_of()))
    return make_scorer(name).fit(corpus, corpus.targets, described, seed, cache)


def test_queries(corpus: Corpus) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query text indices, test photo indices, index of each query's photo among them)."""
    photos = np.flatnonzero(corpus.image_split == "test")
    queries = np.flatnonzero(corpus.is_test_query & np.isin(corpus.text_photo, photos))
    return queries, photos, np.searchsorted(photos, corpus.text_photo[queries])


def score_matrix(model: Scorer, corpus: Corpus, queries: np.ndarray, photos: np.ndarray,
                 cache=None) -> np.ndarray:
    return model.score(corpus, np.tile(photos, len(queries)), np.repeat(queries, len(photos)),
                       cache).reshape(len(queries), len(photos))


def evaluate_test(model: Scorer, corpus: Corpus, cache=None) -> dict:
    from . import metrics
    queries, photos, relevant = test_queries(corpus)
    if len(queries) == 0:
        return {}
    return metrics.retrieval(score_matrix(model, corpus, queries, photos, cache), relevant)


def choose_active(con) -> str | None:
    """The newest model of each name competes; the highest cross-validated MRR wins, among those
    whose cross-validated expert tau-c reaches the floor when any does."""
    metric = CRITERION.removeprefix("cv_")
    best = con.execute(
        "select l.model_id from rpt_model_leaderboard l "
        "join model_metrics m on m.model_id = l.model_id and m.split = 'cv' and m.metric = ? "
        "left join model_metrics tau on tau.model_id = l.model_id and tau.split = 'cv' "
        "and tau.metric = 'tau_c' "
        "order by coalesce(tau.value >= ?, false) desc, m.value desc, l.model_id limit 1",
        [metric, TAU_C_FLOOR]).fetchone()
    if best is None:
        return None
    from .db import transaction
    with transaction(con):
        con.execute("update models set is_active = (model_id = ?)", [best[0]])
    return best[0]
