"""Does a query ask for children, by meaning: a logistic regression over multilingual sentence vectors
(USE-m, the encoder Russian search uses), beside the vocabulary.

It learns from the labelled queries shipped with the package (labelled_queries.tsv: English and
Russian, with the hard negatives: "baby carrots", "a grown son", "мальчишник") and from descriptions
weakly labelled by the vocabulary. Two thresholds, both chosen by cross-validation inside the
training queries: `threshold` (a query no word flags, with p >= threshold, asks for children) and
`veto` (a query a word flags, with p < veto, does not: "an elderly man and his middle-aged son").
The veto is set so that it overrules almost no child query of the training folds, and it acts only
where the nearest labelled query is a hard negative (words flag it, it is not about a child) at
cosine >= veto_cosine: the labelled queries are not the service's queries (a free veto overruled 104
of the 357 stored queries the words flag, plain "a man holding a young boy"; a veto next to any
negative, "two girls walking in the street" beside "people walking in a busy street"), so words are
overruled only next to a hard negative someone wrote down. The costly error is showing a child.

Inference is numpy only (coefficients from the policy_text_models table); scikit-learn fits.
"""
import hashlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LABELLED = Path(__file__).parent / "labelled_queries.tsv"
LANGS = ("en", "ru")


@dataclass(frozen=True)
class MeaningParams:
    # chosen by the nested cross-validation below (README, "The children rule"), the highest recall
    # with false alarms under 0.05 in both languages: C 0.3 / 1 / 3, query weight 2 / 5 / 20, 0 or 5000
    # descriptions (their weak labels only teach the vocabulary back and raised false alarms),
    # max_false_alarms 0 / 0.005 / 0.01 / 0.02, veto_cosine 0.5 / 0.6
    c: float = 0.3                  # inverse regularisation
    query_weight: float = 2.0       # a labelled query counts as this many descriptions
    descriptions: int = 0           # weakly labelled descriptions to learn from (a fixed sample)
    max_false_alarms: float = 0.005  # what `threshold` may add, out of fold, among queries not asking
    veto_child_loss: float = 0.01   # the share of flagged child queries the veto may overrule
    veto_cosine: float = 0.6        # ... and only next to a labelled negative this close
    folds: int = 5


@dataclass
class TextModel:
    encoder: str
    coef: np.ndarray
    intercept: float
    threshold: float
    veto: float
    veto_cosine: float
    example_texts: list[str] = field(default_factory=list)
    example_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    example_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    example_hard: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        z = np.asarray(vectors, dtype=np.float64) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def nearest(self, vector: np.ndarray) -> tuple[str, bool, float] | None:
        """The labelled query closest in meaning: what the score most resembles."""
        if not len(self.example_texts):
            return None
        sims = self.example_vectors @ np.asarray(vector, dtype=np.float32)
        i = int(np.argmax(sims))
        return self.example_texts[i], bool(self.example_labels[i]), float(sims[i])


def load_labelled(path: Path = LABELLED):
    """The labelled queries: lang, asks_for_children (0/1), kind, text."""
    import pandas as pd
    frame = pd.read_csv(path, sep="\t", dtype={"lang": str, "kind": str, "text": str}, keep_default_na=False)
    bad = frame[~frame.lang.isin(LANGS) | ~frame.asks_for_children.isin([0, 1]) | (frame.text.str.strip() == "")]
    if len(bad):
        raise ValueError(f"{path}: rows {list(bad.index + 2)} need lang en/ru, asks_for_children 0/1, a text")
    return frame


def labelled_sha256(path: Path = LABELLED) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fit_lr(x, y, w, c):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(C=c, max_iter=3000).fit(x, y, sample_weight=w)


def _training(lab_x, lab_y, desc_x, desc_y, params):
    x = np.vstack([desc_x, lab_x]) if len(desc_x) else lab_x
    y = np.r_[desc_y, lab_y].astype(int)
    w = np.r_[np.ones(len(desc_x)), np.full(len(lab_x), params.query_weight)]
    return x, y, w


def _strata(lang, y):
    return np.char.add(np.asarray(lang, dtype=str), np.asarray(y, dtype=int).astype(str))


def near_hard_negative(x, examples, hard, min_cosine, terms=None, example_terms=None) -> np.ndarray:
    """Whether each row's nearest labelled example is a hard negative at least this close and, given
    the vocabulary terms that flagged each (sets), one that the same word flagged: "a boy and his puppy
    asleep on the couch" is not overruled by "a man sleeping like a baby on the sofa" (a like scene,
    another word). example_terms may be a function of the example's index (looked up when needed)."""
    if not len(hard):
        return np.zeros(len(x), dtype=bool)
    sims = np.asarray(x, dtype=np.float32) @ np.asarray(examples, dtype=np.float32).T
    best = sims.argmax(axis=1)
    near = np.asarray(hard, bool)[best] & (sims[np.arange(len(x)), best] >= min_cosine)
    if terms is not None:
        of = example_terms if callable(example_terms) else example_terms.__getitem__
        near &= np.array([bool(n and terms[i] & of(int(best[i]))) for i, n in enumerate(near)], dtype=bool)
    return near


def out_of_fold(lab_x, lab_y, lang, lab_vocab, desc_x, desc_y, params, seed=0,
                lab_terms=None) -> tuple[np.ndarray, np.ndarray]:
    """Each labelled query's probability from a model that never saw it (descriptions always in), and
    whether its nearest query of that model's training part is a close negative."""
    from sklearn.model_selection import StratifiedKFold
    strata = _strata(lang, lab_y)
    folds = min(params.folds, int(np.unique(strata, return_counts=True)[1].min()))
    p, near = np.zeros(len(lab_y)), np.zeros(len(lab_y), dtype=bool)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(lab_x, strata):
        x, y, w = _training(lab_x[tr], lab_y[tr], desc_x, desc_y, params)
        m = _fit_lr(x, y, w, params.c)
        p[te] = m.predict_proba(lab_x[te])[:, 1]
        near[te] = near_hard_negative(lab_x[te], lab_x[tr], lab_vocab[tr] & ~lab_y[tr], params.veto_cosine,
                                      _subset(lab_terms, te), _subset(lab_terms, tr))
    return p, near


def _subset(lab_terms, rows):
    return None if lab_terms is None else [lab_terms[i] for i in rows]


def choose_thresholds(p, near, y, vocab_hit, params) -> tuple[float, float]:
    """threshold: the lowest that adds at most max_false_alarms (of all queries not asking) among
    queries no word flags; veto: the highest that overrules at most veto_child_loss of the child
    queries words flag (and never more than it takes back), where it may act (`near`)."""
    y, vocab_hit = np.asarray(y, bool), np.asarray(vocab_hit, bool) & np.asarray(near, bool)
    n_neg = max(int((~y).sum()), 1)
    threshold = 1.0
    for t in np.unique(np.r_[p[~vocab_hit], 1.0])[::-1]:      # only where it decides anything
        if ((p >= t) & ~vocab_hit & ~y).sum() / n_neg > params.max_false_alarms:
            break
        threshold = float(t)
    hit_child = vocab_hit & y
    allowed = int(np.floor(params.veto_child_loss * hit_child.sum()))
    veto = 0.0
    for v in np.unique(np.r_[0.0, p]):
        lost = ((p < v) & hit_child).sum()
        saved = ((p < v) & vocab_hit & ~y).sum()
        if lost > allowed or lost >= saved and lost:
            break
        veto = float(v)
    return threshold, veto


def decide(p, near, vocab_hit, threshold, veto) -> np.ndarray:
    p, near, vocab_hit = np.asarray(p), np.asarray(near, bool), np.asarray(vocab_hit, bool)
    return np.where(vocab_hit, (p >= veto) | ~near, p >= threshold)


def fit(lab_x, lab_y, lab_lang, lab_vocab, desc_x, desc_y, params: MeaningParams, encoder: str,
        texts: list[str], lab_terms=None) -> tuple[TextModel, dict]:
    """The model on every labelled query, its thresholds from out-of-fold probabilities, and the
    check's recall and false alarms per language by nested cross-validation (thresholds chosen inside
    each outer training part, applied to its held-out part)."""
    from sklearn.model_selection import StratifiedKFold
    lab_x = np.asarray(lab_x, dtype=np.float32)
    lab_y, lab_vocab, lab_lang = np.asarray(lab_y, bool), np.asarray(lab_vocab, bool), np.asarray(lab_lang)
    desc_x = np.asarray(desc_x, dtype=np.float32).reshape(-1, lab_x.shape[1])
    desc_y = np.asarray(desc_y, bool)
    strata = _strata(lab_lang, lab_y)
    folds = min(params.folds, int(np.unique(strata, return_counts=True)[1].min()))
    decided, probs = np.zeros(len(lab_y), bool), np.zeros(len(lab_y))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=1).split(lab_x, strata):
        t, v = choose_thresholds(*out_of_fold(lab_x[tr], lab_y[tr], lab_lang[tr], lab_vocab[tr], desc_x,
                                              desc_y, params, lab_terms=_subset(lab_terms, tr)),
                                 lab_y[tr], lab_vocab[tr], params)
        x, y, w = _training(lab_x[tr], lab_y[tr], desc_x, desc_y, params)
        probs[te] = _fit_lr(x, y, w, params.c).predict_proba(lab_x[te])[:, 1]
        near = near_hard_negative(lab_x[te], lab_x[tr], lab_vocab[tr] & ~lab_y[tr], params.veto_cosine,
                                  _subset(lab_terms, te), _subset(lab_terms, tr))
        decided[te] = decide(probs[te], near, lab_vocab[te], t, v)
    metrics = {}
    for lang in LANGS:
        m = lab_lang == lang
        pos, neg = m & lab_y, m & ~lab_y
        if pos.any() and neg.any():
            metrics |= {f"cv_{lang}_recall": float(decided[pos].mean()),
                        f"cv_{lang}_false_alarms": float(decided[neg].mean()),
                        f"vocabulary_{lang}_recall": float(lab_vocab[pos].mean()),
                        f"vocabulary_{lang}_false_alarms": float(lab_vocab[neg].mean()),
                        f"labelled_{lang}_queries": int(m.sum())}
    threshold, veto = choose_thresholds(*out_of_fold(lab_x, lab_y, lab_lang, lab_vocab, desc_x, desc_y, params,
                                                     lab_terms=lab_terms),
                                        lab_y, lab_vocab, params)
    x, y, w = _training(lab_x, lab_y, desc_x, desc_y, params)
    lr = _fit_lr(x, y, w, params.c)
    model = TextModel(encoder, lr.coef_[0].astype(np.float32), float(lr.intercept_[0]), threshold, veto,
                      params.veto_cosine, list(texts), lab_y.copy(), lab_x, lab_vocab & ~lab_y)
    metrics |= {"threshold": threshold, "veto": veto, "descriptions": int(len(desc_y))}
    return model, metrics


def load_model(con) -> TextModel | None:
    """The newest policy run's meaning classifier, or None."""
    # column-wise: the labelled examples' vectors arrive as one float32 array, not 280,000 Python floats
    row = con.execute("select m.encoder, m.coef, m.intercept, m.threshold, m.veto, m.veto_cosine, m.example_texts, "
                      "m.example_labels, m.example_vectors, m.example_hard from policy_text_models m "
                      "join policy_runs r using (job_run_id) order by r.finished_at desc limit 1").fetchnumpy()
    if not len(row["encoder"]):
        return None
    encoder, coef, intercept, threshold, veto, veto_cosine, texts, labels, vectors, hard = (v[0] for v in row.values())
    texts = [str(t) for t in texts]
    return TextModel(str(encoder), np.asarray(coef, dtype=np.float32), float(intercept), float(threshold),
                     float(veto), float(veto_cosine), texts, np.asarray(labels, dtype=bool),
                     np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1), np.asarray(hard, dtype=bool))


def use_vectors(texts: list[str]) -> np.ndarray:
    """USE-m sentence vectors, 256 texts a call (the process's one encoder)."""
    from ..encoders.multilingual import use_encoder
    use = use_encoder()
    return np.vstack([np.atleast_2d(use.encode(texts[a:a + 256])) for a in range(0, len(texts), 256)])


MAX_CHARS = 2000        # what the classifier reads of a text; the vocabulary reads all of it


def readable(text: str) -> bool:
    """Has letters of a script the classifier was trained on (Latin, Cyrillic)."""
    return any(c.isalpha() and unicodedata.name(c, "").startswith(("LATIN", "CYRILLIC")) for c in text)


class QueryCheck:
    """The children check for queries: the vocabulary, and the meaning classifier when the policy job
    trained one. Every decision keeps its evidence: the words, or the classifier's score and the
    nearest labelled query."""

    def __init__(self, vocab, model: TextModel | None = None, encode=None):
        self.vocab, self.model = vocab, model
        self._encode = encode            # texts -> vectors; USE-m unless a test hands another
        self._example_terms: dict[int, frozenset] = {}

    def example_terms(self, i: int) -> frozenset:
        """The vocabulary terms that flag labelled example i (read when a veto needs them)."""
        if i not in self._example_terms:
            from .query import check, term_keys
            self._example_terms[i] = term_keys(check(self.model.example_texts[i], self.vocab), self.vocab)
        return self._example_terms[i]

    @classmethod
    def load(cls, con) -> "QueryCheck":
        from . import load_vocabulary
        return cls(load_vocabulary(con), load_model(con))

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return (self._encode or use_vectors)(texts)

    def __call__(self, text: str):
        return self.many([text])[0]

    def many(self, texts: list[str]) -> list:
        from .query import Decision, check, term_keys
        words = [check(t, self.vocab) for t in texts]
        if self.model is None:
            return words
        cut = [_clean(t)[:MAX_CHARS] for t in texts]
        read = [i for i, t in enumerate(cut) if readable(t)]
        vectors = dict(zip(read, self._vectors([cut[i] for i in read]))) if read else {}
        out = []
        for i, d in enumerate(words):
            if i not in vectors:
                out.append(Decision(d.is_child, d.evidence, "vocabulary" if d.is_child else None, None,
                                    ["no English or Russian letters for the classifier to read: decided by "
                                     "the vocabulary alone"]))
                continue
            p = float(self.model.probability(vectors[i][None])[0])
            # a stated age under 16 is never overruled
            near = near_hard_negative(vectors[i][None], self.model.example_vectors, self.model.example_hard,
                                      self.model.veto_cosine, [term_keys(d, self.vocab)], self.example_terms)
            child = d.is_child and any(e.startswith("age") for e in d.evidence) or bool(
                decide([p], near, [d.is_child], self.model.threshold, self.model.veto)[0])
            nearest = self._nearest(vectors[i]) if child != d.is_child else ""
            if d.is_child and child:
                out.append(Decision(True, d.evidence, "vocabulary", p))
            elif d.is_child:
                out.append(Decision(False, [f"the words ({', '.join(d.evidence)}) overruled: classifier "
                                            f"p={p:.2f} < {self.model.veto:.2f}{nearest}"], "classifier", p))
            elif child:
                out.append(Decision(True, [f"classifier p={p:.2f} >= {self.model.threshold:.2f}{nearest}"],
                                    "classifier", p))
            else:
                out.append(Decision(False, [], None, p))
        return out

    def _nearest(self, vector) -> str:
        hit = self.model.nearest(vector)
        if hit is None:
            return ""
        example, label, sim = hit
        return f"; nearest labelled query: {example!r} ({'child' if label else 'not a child'}, cosine {sim:.2f})"


def _clean(text: str) -> str:
    """Control and format characters out, as the encoder should not see them."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
                   if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn"))
