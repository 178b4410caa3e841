"""Pixel classifier for the children rule: does a photo show a child, from its image embedding alone?

Trained on photos whose descriptions say (the labels come from the same vocabulary check as queries),
so it covers photos nobody described and descriptions that happen not to mention the child. Two
votes, mixed by a weight chosen by out-of-fold AUC: a logistic regression, and the labels of the
photo's nearest described photos (the same standardised vectors, cosine, softmax-weighted): near
neighbours carry what one hyperplane through 1280 ImageNet features cannot (a child in a sports
photo, beside an adult in one). A described photo is never its own neighbour. The threshold is set from
out-of-fold probabilities to reach a recall target: showing a child is the costly error, so precision
is what gives.
"""
from dataclasses import dataclass

import numpy as np

from ..config import PIXEL_RECALL_TARGET


@dataclass
class PixelParams:
    recall_target: float = PIXEL_RECALL_TARGET
    # L2 strength, chosen by out-of-fold AUC; on the full data 0.001 (AUC 0.889 against 0.885 at
    # 0.003, the lowest of the grid before)
    c_grid: tuple[float, ...] = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)
    # the neighbours' share of the vote, chosen by out-of-fold AUC among these (`ws policy run
    # --no-neighbours`: the regression alone)
    knn_weights: tuple[float, ...] = (0.0, 0.5, 1.0)
    knn_k: int = 25
    knn_temperature: float = 0.1
    folds: int = 5
    seed: int = 0


@dataclass
class PixelClassifier:
    model: object
    threshold: float
    metrics: dict
    knn: dict          # weight, k, temperature, bank (unit standardised vectors), labels, images

    def predict_proba(self, features: np.ndarray, images: list[str] | None = None) -> np.ndarray:
        return probability(self.linear(), features, images)

    def linear(self) -> dict:
        """The fitted classifier as plain numbers (what policy_pixel_models stores, with the
        neighbours' images instead of their vectors)."""
        scaler, lr = self.model[0], self.model[-1]
        return {"feature_mean": scaler.mean_.tolist(), "feature_scale": scaler.scale_.tolist(),
                "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "threshold": self.threshold,
                **{f"knn_{k}": v for k, v in self.knn.items()}}


def probability(model: dict, features: np.ndarray, images: list[str] | None = None) -> np.ndarray:
    """The stored classifier's probability for photo features (rows); images: their names, so that
    a described photo is not its own neighbour (None: photos outside the bank)."""
    z = (np.asarray(features) - np.asarray(model["feature_mean"])) / np.asarray(model["feature_scale"])
    p = 1 / (1 + np.exp(-(z @ np.asarray(model["coef"]) + model["intercept"])))
    weight = model.get("knn_weight", 0.0)
    if not weight:
        return p
    own = None
    if images is not None:
        at = {im: i for i, im in enumerate(model["knn_images"])}
        own = np.asarray([at.get(im, -1) for im in images])
    votes = neighbour_votes(z, model["knn_bank"], np.asarray(model["knn_labels"], dtype=bool), model["knn_k"],
                            model["knn_temperature"], own)
    return (1 - weight) * p + weight * votes


def unit_rows(z: np.ndarray) -> np.ndarray:
    return (z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def neighbour_votes(z: np.ndarray, bank: np.ndarray, labels: np.ndarray, k: int, temperature: float,
                    own: np.ndarray | None = None) -> np.ndarray:
    """The softmax-weighted share of child labels among each row's k nearest bank rows (cosine of
    standardised vectors; own[i] >= 0: the bank row that is row i itself, left out). In blocks of rows."""
    out = np.empty(len(z))
    k = min(k, len(bank) - (own is not None))
    for a in range(0, len(z), 2048):
        sims = unit_rows(z[a:a + 2048]) @ bank.T
        if own is not None:
            mine = own[a:a + 2048]
            sims[np.flatnonzero(mine >= 0), mine[mine >= 0]] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        w = np.exp((np.take_along_axis(sims, top, axis=1) - 1) / temperature)
        out[a:a + 2048] = (w * labels[top]).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-300)
    return out


def _model(c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000, class_weight="balanced"))


def threshold_for_recall(scores: np.ndarray, labels: np.ndarray, recall: float) -> float:
    """The highest threshold whose recall on these scores is at least `recall`."""
    pos = np.sort(scores[labels])
    return float(pos[int(np.floor((1 - recall) * len(pos)))])


def fit(features: np.ndarray, labels: np.ndarray, params: PixelParams | None = None,
        images: list[str] | None = None) -> PixelClassifier:
    """images: the training photos' names (kept with the neighbours' vote)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    params = params or PixelParams()
    labels = labels.astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    folds = min(params.folds, n_pos, n_neg)
    if folds < 2:
        raise ValueError(f"need at least 2 described photos with and without children, have {n_pos} and {n_neg}")
    cv = StratifiedKFold(folds, shuffle=True, random_state=params.seed)
    best = None
    for c in params.c_grid:
        oof = cross_val_predict(_model(c), features, labels, cv=cv, method="predict_proba")[:, 1]
        auc = roc_auc_score(labels, oof)
        if best is None or auc > best[0]:
            best = (auc, c, oof)
    lr_auc, c, lr_oof = best
    # the neighbours' vote out of fold: each fold's photos against the other folds' (standardised as
    # the regression standardises); only when a weight may give it a say
    metrics = {"cv_auc_regression": lr_auc}
    votes = np.zeros(len(labels))
    if any(params.knn_weights):
        z = (features - features.mean(axis=0)) / np.maximum(features.std(axis=0), 1e-12)
        for train, held in cv.split(features, labels):
            votes[held] = neighbour_votes(z[held], unit_rows(z[train]), labels[train], params.knn_k,
                                          params.knn_temperature)
        metrics["cv_auc_neighbours"] = roc_auc_score(labels, votes)
    mixes = [(w, (1 - w) * lr_oof + w * votes) for w in params.knn_weights]
    auc, weight, oof = max(((roc_auc_score(labels, m), w, m) for w, m in mixes), key=lambda t: t[0])
    thr = threshold_for_recall(oof, labels, params.recall_target)
    flagged = oof >= thr
    metrics |= {"cv_auc": auc, "knn_weight": weight, "c": c, "threshold": thr, "folds": folds,
                "n_train": len(labels), "n_train_child": n_pos, "cv_recall": float(flagged[labels].mean()),
                "cv_precision": float(labels[flagged].mean())}
    model = _model(c).fit(features, labels)
    # the neighbours are kept (and stored, and shipped to Ray workers) only when they have a say
    voting = weight > 0
    scaler = model[0]
    knn = {"weight": weight, "k": params.knn_k, "temperature": params.knn_temperature,
           "bank": (unit_rows((features - scaler.mean_) / scaler.scale_) if voting
                    else np.zeros((0, features.shape[1]), dtype=np.float32)),
           "labels": labels.tolist() if voting else [],
           "images": ((list(images) if images is not None else [f"#{i}" for i in range(len(labels))])
                      if voting else [])}
    return PixelClassifier(model, thr, metrics, knn)
