"""Final pair scorers: a linear regression or a PyTorch MLP over the bridges' signals, trained on the
human targets, calibrated so that a score means the same thing for every query."""
from dataclasses import dataclass, field

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LinearRegression

from .base import Scorer
from .bridges import CaptionTransfer, CaptionTransferParams, LabelBridge, TwoTower, TwoTowerParams
from .seed import MLPParams, run_mlp, train_mlp

FEATURES = ("caption_mean", "caption_max", "two_tower", "label_bridge")


@dataclass
class PairParams:
    head: str = "linear"          # linear (least squares) or mlp (PyTorch)
    inner_folds: int = 3          # two-tower signals for training pairs come out of fold
    balance: bool = False         # the seed's hypothesis: equal weight to rather-yes / rather-no
    products: int = 32            # mlp only: first N dims of the two-tower elementwise product
    caption_k_mean: int = 40
    caption_k_max: int = 10
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


class PairScorer(Scorer):
    kind = "pair"
    Params = PairParams

    def _bridges(self, corpus, train_photos, seed):
        """The bridges fitted on these photos; pair models that differ only in their head share
        them through the corpus memo (the two-tower fit is the expensive part)."""
        p = self.params
        key = ("pair-bridges", p.caption_k_mean, p.caption_k_max, repr(sorted(p.two_tower.items())),
               seed, np.asarray(train_photos).tobytes(), corpus.hidden.tobytes())
        if key not in corpus.memo:
            corpus.memo[key] = self._fit_bridges(corpus, train_photos, seed)
        return corpus.memo[key]

    def _fit_bridges(self, corpus, train_photos, seed):
        p = self.params
        caption_mean = CaptionTransfer(CaptionTransferParams(k=p.caption_k_mean)).fit(
            corpus, None, train_photos)
        caption_max = CaptionTransfer(CaptionTransferParams(k=p.caption_k_max, aggregate="max")).fit(
            corpus, None, train_photos)
        tower = TwoTower(TwoTowerParams(**p.two_tower)).fit(corpus, None, train_photos, seed)
        return caption_mean, caption_max, tower

    def _signals(self, corpus, img, txt, bridges) -> np.ndarray:
        caption_mean, caption_max, tower = bridges
        cols = [caption_mean.score(corpus, img, txt), caption_max.score(corpus, img, txt),
                tower.score(corpus, img, txt), self.label.score(corpus, img, txt)]
        x = np.column_stack(cols)
        if self.params.head == "mlp" and self.params.products:
            fi, ti = tower.project(corpus, img, txt)
            x = np.hstack([x, (fi * ti)[:, :self.params.products]])
        return x

    def fit(self, corpus, train_pairs, train_photos, seed=0):
        p = self.params
        self.label = LabelBridge().fit(corpus, None, train_photos)
        img, txt = train_pairs["img"].to_numpy(), train_pairs["txt"].to_numpy()
        # Out-of-fold signals for the training pairs: the two-tower never saw the pair's photo.
        x = np.zeros((len(train_pairs), 4 + (p.products if p.head == "mlp" else 0)))
        rng = np.random.default_rng(seed)
        photos = np.unique(img)
        fold_of = dict(zip(photos, rng.permutation(len(photos)) % p.inner_folds))
        folds = np.asarray([fold_of[i] for i in img])
        for f in range(p.inner_folds):
            held = photos[[fold_of[ph] == f for ph in photos]]
            inner_photos = np.setdiff1d(train_photos, held)
            rows = folds == f
            x[rows] = self._signals(corpus, img[rows], txt[rows],
                                    self._bridges(corpus, inner_photos, seed))
        y = train_pairs["target"].to_numpy()
        w = _balance_weights(train_pairs) if p.balance else np.ones(len(y))
        self.mean, self.std = x.mean(axis=0), x.std(axis=0) + 1e-9
        z = (x - self.mean) / self.std
        if p.head == "mlp":
            # the balance weights act through resampling: the MLP loop takes plain MSE
            idx = rng.choice(len(y), size=len(y), p=w / w.sum()) if p.balance else np.arange(len(y))
            self.net = train_mlp(z[idx], y[idx], MLPParams(**p.mlp), seed)
            raw = run_mlp(self.net, z)
        else:
            lin = LinearRegression().fit(z, y, sample_weight=w)
            self.coef, self.intercept = lin.coef_, float(lin.intercept_)
            raw = z @ self.coef + self.intercept
        self.calibration = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, y)
        self.bridges = self._bridges(corpus, train_photos, seed)
        return self

    def _raw(self, z):
        if self.params.head == "mlp":
            return run_mlp(self.net, z)
        return z @ self.coef + self.intercept

    def score(self, corpus, img, txt):
        z = (self._signals(corpus, img, txt, self.bridges) - self.mean) / self.std
        raw = self._raw(z)
        # isotonic steps make ties; a tiny increasing term keeps the order of the raw scores
        return 0.999 * self.calibration.predict(raw) + 0.001 / (1 + np.exp(-raw))

    def state(self):
        caption_mean, caption_max, tower = self.bridges
        out = {"mean": self.mean, "std": self.std,
               "cal_x": self.calibration.X_thresholds_, "cal_y": self.calibration.y_thresholds_,
               "label.class_vectors": self.label.class_vectors,
               **{f"cap_mean.{k}": v for k, v in caption_mean.state().items()},
               **{f"cap_max.{k}": v for k, v in caption_max.state().items()},
               **{f"tower.{k}": v for k, v in tower.state().items()}}
        if self.params.head == "mlp":
            out.update({f"net.{k}": v.numpy() for k, v in self.net.state_dict().items()})
        else:
            out.update(coef=self.coef, intercept=self.intercept)
        return out

    def set_state(self, state):
        import torch
        from .seed import mlp
        p = self.params

        def part(prefix):
            return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        self.mean, self.std = state["mean"], state["std"]
        self.calibration = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
            state["cal_x"], state["cal_y"])
        self.label = LabelBridge()
        self.label.set_state(part("label."))
        caption_mean = CaptionTransfer(CaptionTransferParams(k=p.caption_k_mean))
        caption_mean.set_state(part("cap_mean."))
        caption_max = CaptionTransfer(CaptionTransferParams(k=p.caption_k_max, aggregate="max"))
        caption_max.set_state(part("cap_max."))
        tower = TwoTower(TwoTowerParams(**p.two_tower))
        tower.set_state(part("tower."))
        self.bridges = (caption_mean, caption_max, tower)
        if p.head == "mlp":
            self.net = mlp(len(self.mean), MLPParams(**p.mlp))
            self.net.load_state_dict({k: torch.from_numpy(v) for k, v in part("net.").items()})
            self.net.eval()
        else:
            self.coef, self.intercept = state["coef"], state["intercept"]
