"""Pixel classifier for the children rule: does a photo show a child, from its image embedding alone?

Trained on photos whose descriptions say (the labels come from the same vocabulary check as queries),
so it covers photos nobody described and descriptions that happen not to mention the child. The
threshold is set from out-of-fold probabilities to reach a recall target: showing a child is the costly
error, so precision is what gives.
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class PixelParams:
    recall_target: float = 0.95                  # on out-of-fold train photos; the test check asks 0.90
    c_grid: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1)   # L2 strength, chosen by out-of-fold AUC
    folds: int = 5
    seed: int = 0


@dataclass
class PixelClassifier:
    model: object
    threshold: float
    metrics: dict

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(features)[:, 1]

    def linear(self) -> dict:
        """The fitted pipeline as plain numbers (what policy_pixel_models stores)."""
        scaler, lr = self.model[0], self.model[-1]
        return {"feature_mean": scaler.mean_.tolist(), "feature_scale": scaler.scale_.tolist(),
                "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0]), "threshold": self.threshold}


def probability(model: dict, features: np.ndarray) -> np.ndarray:
    """The stored classifier's probability for photo features (rows)."""
    z = (np.asarray(features) - np.asarray(model["feature_mean"])) / np.asarray(model["feature_scale"])
    return 1 / (1 + np.exp(-(z @ np.asarray(model["coef"]) + model["intercept"])))


def _model(c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000, class_weight="balanced"))


def threshold_for_recall(scores: np.ndarray, labels: np.ndarray, recall: float) -> float:
    """The highest threshold whose recall on these scores is at least `recall`."""
    pos = np.sort(scores[labels])
    return float(pos[int(np.floor((1 - recall) * len(pos)))])


def fit(features: np.ndarray, labels: np.ndarray, params: PixelParams | None = None) -> PixelClassifier:
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
    auc, c, oof = best
    thr = threshold_for_recall(oof, labels, params.recall_target)
    flagged = oof >= thr
    metrics = {"cv_auc": auc, "c": c, "threshold": thr, "folds": folds, "n_train": len(labels),
               "n_train_child": n_pos, "cv_recall": float(flagged[labels].mean()),
               "cv_precision": float(labels[flagged].mean())}
    return PixelClassifier(_model(c).fit(features, labels), thr, metrics)
