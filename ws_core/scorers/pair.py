"""Final pair scorers: a linear regression or a PyTorch MLP over the bridges' signals, trained on the
human targets, calibrated so that a score means the same thing for every query."""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import training
from ..memo import Cache, digest
from ..numeric import Calibration
from .base import Scorer
from .bridges import (CaptionTransfer, CaptionTransferParams, LabelBridge, PhotoTransfer,
                      PhotoTransferParams, TwoTower, TwoTowerParams)
from .seed import MLPParams, run_mlp, train_mlp

SHARED_SCORING_PAIRS = 10_000      # scoring calls at least this large share their signals


@dataclass
class PairParams:
    head: str = "linear"          # linear (least squares) or mlp (PyTorch)
    # the two-tower signal of training pairs comes from towers fitted without the pair's photo, in
    # folds laid like cross-validation's (training.photo_folds, same count and seed): the towers
    # of outer fold f / inner fold j and of outer j / inner f are one fit, and the final model's
    # inner towers are cross-validation's own
    inner_folds: int = 5
    balance: bool = False         # the seed's hypothesis: equal weight to rather-yes / rather-no
    # `ws bench cv --model pair_linear --grid known_pairs=0.2,1,3 --grid expert_weight=5,20`:
    #   MRR 0.435 / 0.424, 0.453 / 0.441, 0.458 / 0.457; tau-c 0.486 / 0.500, 0.468 / 0.490,
    #   0.452 / 0.478. Highest MRR, a tie within 0.002 going to the higher expert tau-c.
    known_pairs: float = 3.0      # weight of known pairs added to the judged ones: each training
                                  # photo of the service's own (the folds') with each own description
                                  # (target 1) and as many other photos' descriptions (target 0);
                                  # 0 = judged pairs only
    expert_weight: float = 20.0   # weight of pairs the experts judged, against crowd-only pairs
                                  # (pair_mlp: 150, by `--model pair_mlp --grid
                                  # expert_weight=50,100,150,200,300`, table in the README)
    caption_k_mean: int = 20      # neighbours for the mean-aggregated caption signal
    caption_k_max: int = 20       # and for the max-aggregated one (temperature: the bridge's)
    # with centred photo features: CV MRR 0.424 with and without, R@10 0.744 against 0.733
    photo_transfer: bool = True   # add the photo-transfer signal (the text's nearest descriptions
                                  # lend their photos)
    # `--grid words=false,true`: CV MRR 0.457 / 0.461 (linear), 0.459 / 0.461 (mlp, experts 100)
    words: bool = True            # add caption transfer by TF-IDF word vectors (shared content words)
    # `--model pair_mlp --grid photo_words=false,true` (experts 100, one network): MRR 0.462 / 0.461,
    #   tau-c 0.498 / 0.496
    photo_words: bool = False     # add photo transfer by TF-IDF word vectors
    # `--model pair_mlp --grid text_length=false,true` (experts 100, one network): MRR 0.461 /
    #   0.462, tau-c 0.492 / 0.498; linear head: no change
    text_length: bool = True      # add log(1 + words in the text): lets the MLP weigh the signals
                                  # differently for short and long texts
    members: int = 1              # mlp only: networks from as many seeds, their outputs averaged
                                  # (pair_mlp: 5; tau-c +0.002 over one)
    two_tower: dict = field(default_factory=dict)   # TwoTowerParams overrides
    mlp: dict = field(default_factory=dict)         # MLPParams overrides


def _balance_weights(pairs) -> np.ndarray:
    """Per photo and per text, the rather-matching (target >= 0.5) and the rather-not pairs get
    equal total weight; a pair's weight is the mean of its photo's and its text's."""
    yes = pairs["target"].to_numpy() >= 0.5
    w = np.zeros(len(pairs))
    for key in ("img", "txt"):
        groups = pairs[key].to_numpy()
        counts = {}
        for g, y in zip(groups, yes):
            counts[(g, y)] = counts.get((g, y), 0) + 1
        w += np.asarray([1.0 / counts[(g, y)] for g, y in zip(groups, yes)]) / 2
    return w * len(w) / w.sum()


def _with_known_pairs(corpus, pairs, train_photos, weight: float, seed: int) -> pd.DataFrame:
    """Texts written for a photo are true pairs; another photo's description is (almost always) not."""
    rng = np.random.default_rng(seed)
    desc = corpus.descriptions_of(train_photos)
    own = [(ph, t) for ph, ts in desc.items() for t in ts]
    texts = np.asarray([t for _, t in own])
    other = [(ph, t) for (ph, _), t in zip(own, rng.permutation(texts))
             if corpus.text_photo[t] != ph]
    known = pd.DataFrame([(ph, t, 1.0) for ph, t in own] + [(ph, t, 0.0) for ph, t in other],
                         columns=["img", "txt", "target"]).assign(weight=weight)
    return pd.concat([pairs.assign(weight=1.0), known], ignore_index=True)


class PairScorer(Scorer):
    kind = "pair"
    Params = PairParams

    def _bridges(self, corpus, train_photos, seed, cache):
        """The bridges fitted on these photos; pair models that differ only in their head share
        them through the run's cache (the two-tower fit is the expensive part), and with them what
        is derived from them (the bridges keep no per-corpus state)."""
        p = self.params
        key = ("pair-bridges", p.caption_k_mean, p.caption_k_max, p.photo_transfer, p.words, p.photo_words,
               repr(sorted(p.two_tower.items())), seed, digest(np.asarray(train_photos), corpus.hidden))
        return cache.get(corpus, key, lambda: self._fit_bridges(corpus, train_photos, seed, cache))

    def _unfitted_bridges(self) -> dict:
        """The bridges this scorer's settings describe (fitted in fit, restored in set_state), by
        the prefix of their state keys in an artifact; a signal each, in this order."""
        p = self.params
        bridges = {"cap_mean.": CaptionTransfer(CaptionTransferParams(k=p.caption_k_mean, aggregate="mean")),
                   "cap_max.": CaptionTransfer(CaptionTransferParams(k=p.caption_k_max, aggregate="max")),
                   "tower.": TwoTower(TwoTowerParams(**p.two_tower))}
        if p.photo_transfer:
            bridges["photo."] = PhotoTransfer()
        if p.words:
            bridges["words."] = CaptionTransfer(CaptionTransferParams(k=p.caption_k_max, words=True))
        if p.photo_words:
            bridges["photo_words."] = PhotoTransfer(PhotoTransferParams(words=True))
        return bridges

    def _fit_bridges(self, corpus, train_photos, seed, cache):
        return {prefix: b.fit(corpus, None, train_photos, seed, cache)
                for prefix, b in self._unfitted_bridges().items()}

    def signal_names(self) -> list[str]:
        """The signals' columns, in the order the head and the standardisation read them (stored
        artifacts depend on it: the label bridge sits fourth, as it always has)."""
        names = list(self._unfitted_bridges())
        names.insert(3, "label.")
        return names + (["text_length"] if self.params.text_length else [])

    def _signals(self, corpus, img, txt, bridges, cache) -> np.ndarray:
        """A column per signal, by name; a training photo's two-tower column from the inner tower that
        never saw it (_cross_fitted)."""
        cols = {prefix: b.score(corpus, img, txt, cache) for prefix, b in bridges.items()}
        cols["label."] = self.label.score(corpus, img, txt, cache)
        if self.params.text_length:
            u_txt, txt_inv = np.unique(txt, return_inverse=True)
            cols["text_length"] = np.log1p([len(corpus.raw_texts[t].split()) for t in u_txt])[txt_inv]
        return self._cross_fitted(corpus, img, txt, np.column_stack([cols[n] for n in self.signal_names()]))

    def _signal_settings(self) -> dict:
        """The settings that decide the signals (not the head, nor the rows' weights)."""
        skip = {"head", "balance", "known_pairs", "expert_weight", "members", "mlp"}
        return {k: v for k, v in vars(self.params).items() if k not in skip}

    def _training_signals(self, corpus, img, txt, train_photos, seed, cache) -> np.ndarray:
        """The training pairs' signals as the scorer meets unseen pairs. A transfer never lends a
        pair its own photo's descriptions nor the text's photo, so fitted on every training photo
        it is out of sample already; the two-tower learnt its training photos, so its column comes
        from the inner tower fitted without the pair's photo (every training pair's photo is in an
        inner fold: judged pairs are on the service's photos, and so are known pairs)."""
        return self._signals(corpus, img, txt, self._bridges(corpus, train_photos, seed, cache), cache)

    def fit(self, corpus, train_pairs, train_photos, seed=0, cache=None):
        p = self.params
        cache = cache if cache is not None else Cache()
        self.label = LabelBridge().fit(corpus, None, train_photos)
        self.inner = self._inner_towers(corpus, train_photos, seed, cache)
        if p.known_pairs > 0:
            # photos outside the folds (training-only datasets) join every inner tower, so a known
            # pair of theirs would get an in-sample tower signal: they teach through the bridges
            own = train_photos[training.photo_folds(corpus, p.inner_folds, seed)[train_photos] >= 0]
            train_pairs = _with_known_pairs(corpus, train_pairs, own, p.known_pairs, seed)
        img, txt = train_pairs["img"].to_numpy(), train_pairs["txt"].to_numpy()
        # pair models that differ only in their head or weights see the same training signals
        key = ("pair-signals", repr(self._signal_settings()), seed,
               digest(np.asarray(train_photos), corpus.hidden, img, txt))
        x = cache.get(corpus, key, lambda: self._training_signals(corpus, img, txt, train_photos, seed, cache))
        y = train_pairs["target"].to_numpy()
        w = _balance_weights(train_pairs) if p.balance else np.ones(len(y))
        w = w * train_pairs.get("weight", pd.Series(1.0, index=train_pairs.index)).to_numpy()
        by_expert = train_pairs.get("target_source", pd.Series("", index=train_pairs.index)).isin(
            ["expert", "both"]).to_numpy()
        w = np.where(by_expert, w * p.expert_weight, w)
        self.mean, self.std = x.mean(axis=0), x.std(axis=0) + 1e-9
        z = (x - self.mean) / self.std
        if p.head == "mlp":
            self.net = train_mlp(z, y, MLPParams(**p.mlp), seed, weights=w, members=p.members)
            raw = run_mlp(self.net, z)
        else:
            from sklearn.linear_model import LinearRegression
            lin = LinearRegression().fit(z, y, sample_weight=w)
            self.coef, self.intercept = lin.coef_, float(lin.intercept_)
            raw = z @ self.coef + self.intercept
        self.calibration = Calibration.fit(raw, y)
        self.bridges = self._bridges(corpus, train_photos, seed, cache)
        return self

    def _inner_towers(self, corpus, train_photos, seed, cache) -> dict:
        """Inner fold -> (the names of its training photos, the tower fitted without them); inner
        folds are laid like cross-validation's (PairParams.inner_folds), towers come from the cache."""
        fold = training.photo_folds(corpus, self.params.inner_folds, seed)
        out = {}
        for f in np.unique(fold[train_photos]):
            if f >= 0:
                held = np.flatnonzero(fold == f)
                tower = TwoTower(TwoTowerParams(**self.params.two_tower)).fit(
                    corpus, None, np.setdiff1d(train_photos, held), seed, cache)
                out[int(f)] = ([corpus.images[i] for i in np.intersect1d(held, train_photos)], tower)
        return out

    def _cross_fitted(self, corpus, img, txt, x) -> np.ndarray:
        """A training photo's two-tower column from the inner tower that never saw it, as the head
        learnt it: with the final tower, the catalogue's training photos, whose descriptions it
        learnt, outrank every photo it never saw."""
        col = self.signal_names().index("tower.")
        for names, tower in self.inner.values():
            held = np.asarray([corpus.image_index[n] for n in names if n in corpus.image_index], dtype=int)
            rows = np.isin(img, held)
            if rows.any():
                x[rows, col] = tower.score(corpus, img[rows], txt[rows], keep_photos=False)
        return x

    def _raw(self, z):
        if self.params.head == "mlp":
            return run_mlp(self.net, z)
        return z @ self.coef + self.intercept

    def _scoring_signals(self, corpus, img, txt, cache) -> np.ndarray:
        """In a cross-validation run (a cache that keeps signals), large scoring calls (held-out pairs,
        retrieval matrices) are shared by the pair models that differ only in their head: the key
        names the fitted bridges and towers they come from and the pairs. Small calls and other
        caches (a searcher's, whose query row changes) keep none: the cache would grow with every call."""
        if not cache.keep_signals or len(img) < SHARED_SCORING_PAIRS:
            return self._signals(corpus, img, txt, self.bridges, cache)
        fitted = tuple(b.token for b in self.bridges.values()) + tuple(t.token for _, t in self.inner.values())
        key = ("pair-scoring-signals", fitted, repr(self._signal_settings()), digest(img, txt))
        return cache.get(corpus, key, lambda: self._signals(corpus, img, txt, self.bridges, cache))

    def score(self, corpus, img, txt, cache=None):
        cache = cache if cache is not None else Cache()
        z = (self._scoring_signals(corpus, img, txt, cache) - self.mean) / self.std
        return self.calibration.predict(self._raw(z))

    def state(self):
        out = {"mean": self.mean, "std": self.std,
               "cal_x": self.calibration.x, "cal_y": self.calibration.y, "cal_scale": self.calibration.scale,
               "label.class_vectors": self.label.class_vectors,
               **{f"{prefix}{k}": v for prefix, bridge in self.bridges.items()
                  for k, v in bridge.state().items()}}
        for f, (names, tower) in self.inner.items():
            out[f"inner{f}.photos"] = names
            out.update({f"inner{f}.tower.{k}": v for k, v in tower.state().items()})
        if self.params.head == "mlp":
            out.update({f"net.{k}": v.numpy() for k, v in self.net.state_dict().items()})
        else:
            out.update(coef=self.coef, intercept=self.intercept)
        return out

    def set_state(self, state):
        import torch
        from .seed import MLPEnsemble
        p = self.params

        def part(prefix):
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        self.mean, self.std = state["mean"], state["std"]
        if "cal_scale" in state:
            self.calibration = Calibration(state["cal_x"], state["cal_y"], float(state["cal_scale"]))
        else:   # saved with isotonic steps: centre them; the raw spread is taken from their range
            xs = np.asarray(state["cal_x"])
            self.calibration = Calibration.centred(xs, np.asarray(state["cal_y"]), float(np.ptp(xs)) / 4)
        self.label = LabelBridge()
        self.label.set_state(part("label."))
        self.bridges = self._unfitted_bridges()
        for prefix, bridge in self.bridges.items():
            bridge.set_state(part(prefix))
        self.inner = {}     # none in models saved before cross-fitting
        for key in state:
            if key.startswith("inner") and key.endswith(".photos"):
                f = int(key[len("inner"):-len(".photos")])
                tower = TwoTower(TwoTowerParams(**p.two_tower))
                tower.set_state(part(f"inner{f}.tower."))
                self.inner[f] = (list(state[key]), tower)
        if p.head == "mlp":
            self.net = MLPEnsemble(len(self.mean), MLPParams(**p.mlp), p.members)
            self.net.load_state_dict({k: torch.from_numpy(v) for k, v in part("net.").items()})
            self.net.eval()
        else:
            self.coef, self.intercept = state["coef"], state["intercept"]
