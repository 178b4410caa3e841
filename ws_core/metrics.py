"""Quality measures (../shared/docs/EVALUATION.md): agreement with human judgments and retrieval."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def expert_tau_c(pairs: pd.DataFrame) -> float:
    """CLIPScore protocol: pairs whose text was written for that very photo are dropped; each expert's
    rating is its own row (the model's score repeated); Kendall tau-c over all rows.
    pairs: image, text_id, score, expert_1, expert_2, expert_3 (rows without experts are ignored)."""
    p = pairs.dropna(subset=["expert_1"])
    p = p[p["text_id"].str.split("#").str[0] != p["image"]]
    human = np.concatenate([p["expert_1"], p["expert_2"], p["expert_3"]])
    model = np.tile(p["score"].to_numpy(), 3)
    from scipy.stats import kendalltau    # scipy.stats takes 0.8 s to import: not at `ws` start-up
    return float(kendalltau(model, human, variant="c").statistic)


def crowd_tau_b(pairs: pd.DataFrame) -> float:
    """One row per crowd pair, human value = share_yes. pairs: score, share_yes."""
    p = pairs.dropna(subset=["share_yes"])
    from scipy.stats import kendalltau
    return float(kendalltau(p["score"], p["share_yes"], variant="b").statistic)


def rmse(pred, target) -> float:
    pred, target = np.asarray(pred, dtype=float), np.asarray(target, dtype=float)
    return float(np.sqrt(np.mean((pred - target) ** 2)))


def ranks_of_relevant(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """scores: queries x photos; relevant: the index of the right photo per query. Rank 1 is best;
    a tie counts against the model (every photo scored equal or higher ranks ahead)."""
    own = scores[np.arange(len(relevant)), relevant][:, None]
    return (scores >= own).sum(axis=1)


def retrieval(scores: np.ndarray, relevant: np.ndarray) -> dict[str, float]:
    ranks = ranks_of_relevant(scores, relevant)
    return {"r_at_1": float((ranks <= 1).mean()), "r_at_5": float((ranks <= 5).mean()),
            "r_at_10": float((ranks <= 10).mean()), "mrr": float((1.0 / ranks).mean()),
            "median_rank": float(np.median(ranks))}
