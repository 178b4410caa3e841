import dataclasses
import hashlib
import io
from pathlib import Path

import numpy as np
import torch

from ..errors import WsError
from ..memo import Cache


class Scorer:
    kind = "base"
    Params = None  # a dataclass of hyperparameters

    def __init__(self, params=None):
        self.params = params or self.Params()
        self._forget()

    def fit(self, corpus, train_pairs, train_photos: np.ndarray, seed: int = 0, cache=None) -> "Scorer":
        """train_pairs: rows of corpus.targets usable for training; train_photos: photo indices whose
        descriptions and pixels may be learned from (never a held-out photo); cache: the run's
        ws_core.memo.Cache, where fitted pieces are shared between models."""
        return self

    def score(self, corpus, img: np.ndarray, txt: np.ndarray, cache=None) -> np.ndarray:
        """cache: where tables derived from the corpus' photos are kept between calls (none: kept
        for this call only)."""
        raise NotImplementedError

    def state(self) -> dict:
        """Everything needed to score again: numpy arrays and plain values (str, int, float, lists)."""
        return {}

    def set_state(self, state: dict) -> None:
        pass

    def _forget(self) -> None:
        """A new fitted state (fit, set_state): a new token, under which a Cache keeps what is
        derived from it, so tables of an earlier state are never served for this one."""
        self.token = object()

    def _derived(self, corpus, cache, name: str, build):
        """A table derived from this fitted state and the corpus, kept in the cache."""
        return (cache if cache is not None else Cache()).get(corpus, (self.token, name), build, table=True)


def save_scorer(scorer: Scorer, path: Path) -> str:
    """Write kind, hyperparameters and state to `path`; return the file's sha256."""
    buf = io.BytesIO()
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
             for k, v in scorer.state().items()}
    torch.save({"kind": scorer.kind, "params": dataclasses.asdict(scorer.params), "state": state}, buf)
    data = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)     # a full disk must not leave half a file behind
        raise
    return hashlib.sha256(data).hexdigest()


def load_scorer(path: Path) -> Scorer:
    from . import KINDS
    blob = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only
    try:
        cls = KINDS[blob["kind"]]
        scorer = cls(cls.Params(**blob["params"]))
        scorer.set_state({k: v.numpy() if isinstance(v, torch.Tensor) else v
                          for k, v in blob["state"].items()})
    except (KeyError, TypeError) as exc:
        raise WsError(f"{path} was saved by another version of ws ({type(exc).__name__}: {exc}); "
                      "run `ws train --force` to train it again.") from None
    return scorer
