"""Torch-free pieces that the scorers and the search pack share: a cold search imports these and
numpy only (torch alone costs about 1.7 s of a process)."""
import re
from dataclasses import dataclass

import numpy as np

# scikit-learn's CountVectorizer default: words of two or more word characters, lowercased
TOKEN = re.compile(r"(?u)\b\w\w+\b")


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def word_weights(text: str, column: dict, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A text's TF-IDF word vector as (columns, weights): sublinear counts times idf, unit length
    (what scikit-learn's TfidfVectorizer(sublinear_tf=True) gives over this vocabulary)."""
    counts: dict[int, int] = {}
    for word in TOKEN.findall(text.lower()):
        col = column.get(word)
        if col is not None:
            counts[col] = counts.get(col, 0) + 1
    cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
    w = (1 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * idf[cols]
    norm = np.sqrt((w * w).sum())
    return cols, (w / norm if norm > 0 else w).astype(np.float32)


def softmax_top(cand: np.ndarray, sim: np.ndarray, k: int, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k most similar candidates (a banned one has similarity -inf) and their weights,
    softmax(similarity / temperature), summing to 1: the pooling both transfers lend their neighbours by."""
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    cand, sim = np.take_along_axis(cand, order, axis=1), np.take_along_axis(sim, order, axis=1)
    w = np.exp((sim - sim[:, :1]) / temperature)
    return cand, w / w.sum(axis=1, keepdims=True)


@dataclass
class Calibration:
    """Centred isotonic regression: the isotonic fit's blocks reduced to one knot each (block centre,
    block mean) and joined by straight lines, so the map is strictly increasing where isotonic steps
    would tie many photos of one query at one score (four of the sample's top 5 once shared 0.923).
    Beyond the outer knots it approaches 0 and 1 exponentially (scale: the raw scores' spread), so no
    two raw scores ever share a score; in [0, 1] and monotone in the raw score throughout."""
    x: np.ndarray
    y: np.ndarray
    scale: float

    @classmethod
    def fit(cls, raw: np.ndarray, target: np.ndarray) -> "Calibration":
        from sklearn.isotonic import IsotonicRegression
        iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, target)
        return cls.centred(iso.X_thresholds_, iso.y_thresholds_, float(np.std(raw)))

    @classmethod
    def centred(cls, xs: np.ndarray, ys: np.ndarray, scale: float) -> "Calibration":
        """From an isotonic fit's thresholds (also how a model saved with plain isotonic steps loads)."""
        # keep the levels off 0 and 1 so the tails can still rise towards them
        ys = np.clip(ys, 1e-3, 1 - 1e-3)
        starts = np.flatnonzero(np.r_[True, np.diff(ys) != 0])
        ends = np.r_[starts[1:], len(ys)]
        x = np.asarray([xs[a:b].mean() for a, b in zip(starts, ends)])
        return cls(x, ys[starts], scale or 1.0)

    def predict(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        out = np.interp(raw, self.x, self.y)
        lo, hi = raw < self.x[0], raw > self.x[-1]
        out[lo] = self.y[0] * np.exp((raw[lo] - self.x[0]) / self.scale)
        out[hi] = 1 - (1 - self.y[-1]) * np.exp(-(raw[hi] - self.x[-1]) / self.scale)
        return out
