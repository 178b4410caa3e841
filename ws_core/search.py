"""Ad-hoc search and batch scoring with the active model, the children rule applied.

Two stages where it pays: the two-tower's cosine (one matrix-vector product over precomputed photo
projections) recalls CANDIDATES photos, and the model re-ranks them. Up to CANDIDATES photos every one
is re-ranked, so on today's catalogue stage one changes nothing; it is what keeps a million photos
within the latency budget (see `ws bench search`).
"""
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import policy
from .config import WEAK_BELOW
from .errors import WsError, WsUsageError

CANDIDATES = 1000        # re-ranking 1000 photos costs about 15 ms here (ws bench search)
MAX_QUERY_CHARS = 1000   # MiniLM reads 256 tokens (about 1000 characters): the rest is cut, with a note



@dataclass
class Hit:
    rank: int
    image: str
    path: str
    score: float

    @property
    def weak(self) -> bool:
        return self.score < WEAK_BELOW


@dataclass
class SearchResult:
    query: str
    disclaimer: str | None = None
    reason: str | None = None
    evidence: list[str] = field(default_factory=list)
    results: list[Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def all_weak(self) -> bool:
        return bool(self.results) and all(h.weak for h in self.results)

    def to_json(self) -> dict:
        return {"query": self.query, "disclaimer": self.disclaimer,
                "results": [{"rank": h.rank, "image": h.image, "path": h.path, "score": round(h.score, 6),
                             "weak": h.weak} for h in self.results],
                **({"notes": self.notes} if self.notes else {})}


def prepare_query(text: str) -> tuple[str, list[str]]:
    """The query as search reads it, and notes for the user: spaces collapsed, cut to what the
    encoder reads. An empty query is a usage mistake (WsUsageError)."""
    query = " ".join(text.split())
    if not query:
        raise WsUsageError("The query is empty: describe the scene you are looking for.")
    notes = []
    if len(query) > MAX_QUERY_CHARS:
        notes.append(f"the query is {len(query)} characters long; only the first {MAX_QUERY_CHARS}, "
                     "what the text encoder reads, were used")
        query = query[:MAX_QUERY_CHARS]
    return query, notes


def active_model(con, model_id: str | None = None) -> dict:
    row = con.execute(
        "select model_id, name, artifact, sha256, image_encoder, text_encoder from models "
        "where (? is null and is_active) or model_id = ?", [model_id, model_id]).fetchone()
    if row is None:
        raise WsError(f"No model {model_id!r} in the registry." if model_id else
                      "No active model: run `ws train` first.")
    return dict(zip(["model_id", "name", "artifact", "sha256", "image_encoder", "text_encoder"], row))


def model_by_name(con, model: str | None) -> str | None:
    """A model id as given, a model name as its newest model's id, None (the active one) as None."""
    if not model:
        return None
    named = con.execute("select model_id from models where name = ? order by trained_at desc limit 1",
                        [model]).fetchone()
    return named[0] if named else model


def load_model(entry: dict):
    path = Path(entry["artifact"])
    if not path.exists():
        raise WsError(f"Model file {path} is missing: run `ws train --force` to rebuild it.")
    if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
        raise WsError(f"Model file {path} does not match its registered sha256; it was changed or "
                      "damaged: run `ws train --force` to rebuild it.")
    from .scorers import load_scorer      # torch: not for a query answered from words alone
    return load_scorer(path)


def tower_of(scorer):
    """The two-tower inside a model, if any: stage one's index."""
    from .scorers.bridges import TwoTower
    from .scorers.pair import PairScorer
    if isinstance(scorer, TwoTower):
        return scorer
    if isinstance(scorer, PairScorer):
        return scorer.bridges["tower."]
    return None


def stage_one_dims(tower) -> int:
    """Stage one reads the first member's columns of the joined projection: they rank photos as that
    tower does, at 1/members of the width (the joined vector is the members' unit vectors, scaled)."""
    return tower.params.dim


def top_candidates(index: np.ndarray, query: np.ndarray, n: int) -> np.ndarray:
    """Rows of `index` (unit photo projections) with the n largest cosines to `query`, best first."""
    if len(index) <= n:
        return np.argsort(-(index @ query), kind="stable")
    sims = index @ query
    part = np.argpartition(-sims, n - 1)[:n]
    return part[np.argsort(-sims[part], kind="stable")]


@contextmanager
def _one_torch_thread():
    """One query is too small to split across threads, and torch's threads then fight the BLAS
    threads that numpy leaves spinning over the two cores: p50 42 -> 24 ms measured."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Searcher:
    """Loads the active model's search pack (or the model and every photo's vectors), the policy and
    the query encoder once; then answers queries fast. Holds no database connection after construction."""

    def __init__(self, con, region: str | None = None, lang: str | None = None, model_id: str | None = None,
                 text_encoder=None, use_pack: bool = True, check=None, pack=None):
        """pack: search this pack instead of the model's own (`ws bench scale`'s synthetic catalogues)."""
        from .searchpack import Pack
        self.model = active_model(con, model_id)
        # the nightly's pack answers without torch, the model file or the corpus (ws_core/searchpack.py)
        self.pack = pack or (Pack.open(con, self.model) if use_pack else None)
        if self.pack is None:
            self.scorer = load_model(self.model)
            from .corpus import load_corpus
            from .memo import Cache
            # its own query row, filled per query; what the scorer derives from the photos is kept
            # in the searcher's cache, built on the first query
            self.corpus, self.slot = load_corpus(con, self.model["image_encoder"],
                                                 self.model["text_encoder"]).with_query_slot()
            self.cache = Cache()
        self.images = self.pack.images if self.pack is not None else self.corpus.images
        paths = dict(con.execute("select image, path from photos").fetchall())
        self.paths = [paths.get(im, "") for im in self.images]
        self.check = check or policy.QueryCheck.load(con)
        self.rule = policy.rule_applies(con, region)
        # flagged photos in this region, and photos whose file is missing or changed (jobs/files.py)
        hidden = set(policy.hidden_photos(con, region)) | {
            im for (im,) in con.execute("select image from photos where status <> 'ok'").fetchall()}
        self.visible = np.asarray([i for i, im in enumerate(self.images) if im not in hidden], dtype=int)
        self.n_hidden = len(self.images) - len(self.visible)
        self.lang = lang
        self.disclaimers = policy.load_disclaimers(con)
        if text_encoder is None:
            from .encoders import text_encoder_for_version
            text_encoder = text_encoder_for_version(self.model["text_encoder"])
        from .encoders.multilingual import QueryEncoder, load_map
        self.encoder = QueryEncoder(text_encoder, load_map(con, self.model["text_encoder"]))
        self._stage_one()

    def hide(self, rows: np.ndarray) -> None:
        """Keep these photo rows out of every answer too (`ws bench scale`: its pixel flags)."""
        self.visible = np.setdiff1d(self.visible, rows)
        self.n_hidden = len(self.images) - len(self.visible)
        self._stage_one()

    def _stage_one(self) -> None:
        self.index = self.index_rows = self.masked = self.ann = None
        if len(self.visible) > CANDIDATES:
            if self.pack is not None and self.pack.tower is not None:
                self.index = self.pack.tower.index          # memory-mapped, every photo: hidden ones masked
                self.index_rows = np.arange(len(self.images))
                self.masked = np.ones(len(self.images), dtype=bool)
                self.masked[self.visible] = False
                self.ann = self.pack.ann_index()            # a large catalogue's approximate index
            elif self.pack is None and (tower := tower_of(self.scorer)) is not None:
                self.index = tower.project(self.corpus, self.visible, np.full(len(self.visible), self.slot),
                                           self.cache)[0][:, :stage_one_dims(tower)]
                self.index_rows = self.visible          # the photo behind each row of the index

    def search(self, text: str, top: int = 10, min_score: float = 0.0) -> SearchResult:
        query, notes = prepare_query(text)
        decision = self.check(query)
        notes += decision.notes
        if decision.is_child and self.rule:
            return SearchResult(text, self.disclaimers[policy.query_lang(query, self.lang)], decision.reason,
                                decision.evidence, notes=notes)
        vector = self.encoder.encode([query])[0]
        notes += self.encoder.take_notes()
        if self.pack is not None:
            qproj = self.pack.projections(vector)
            photos = self.candidates(None if self.index is None else qproj[0][:self.index.shape[1]])
            scores = self.pack.score(vector, query, photos, qproj)
        else:
            with _one_torch_thread():
                self.corpus.text_vectors[self.slot] = vector
                self.corpus.raw_texts[self.slot] = query
                tower = tower_of(self.scorer)
                photos = self.candidates(None if self.index is None else tower.project_texts(
                    vector[None])[0][:stage_one_dims(tower)])
                scores = self.scorer.score(self.corpus, photos, np.full(len(photos), self.slot), self.cache)
        if len(photos) == 0:
            return SearchResult(text, evidence=decision.evidence, notes=notes)
        # ties broken by name: the candidates' names only (the whole list as an array was 40-70 ms at 1M photos)
        order = np.lexsort((np.asarray([self.images[i] for i in photos]), -scores))[:top]
        hits = [Hit(r + 1, self.images[photos[i]], self.paths[photos[i]], float(scores[i]))
                for r, i in enumerate(order)]
        return SearchResult(text, evidence=decision.evidence, notes=notes,
                            results=[h for h in hits if h.score >= min_score])

    def candidates(self, query_row: np.ndarray | None) -> np.ndarray:
        """The visible photos to re-rank, in row order: all of them, or the CANDIDATES whose
        stage-one rows are nearest the query's."""
        if self.index is None:
            return self.visible
        shown = None if self.masked is None else ~self.masked
        return self.index_rows[recall(self.index, query_row, CANDIDATES, shown, self.ann)]


def recall(index: np.ndarray, row: np.ndarray, k: int, shown: np.ndarray | None = None, ann_index=None) -> np.ndarray:
    """Stage one: the (ascending) rows of the k shown stage-one rows nearest `row`, by the approximate
    index when there is one, else an exact scan."""
    if ann_index is not None:
        return ann_index.search(row, k, shown=shown)
    sims = np.asarray(index @ row)
    if shown is not None:
        sims[~shown] = -np.inf
    return np.sort(np.argpartition(-sims, k - 1)[:k])


def queries_per_call(n_photos: int, candidates: int) -> int:
    """Queries score_queries hands the model at once (about 50,000 pairs). The Ray engine's parts are
    multiples of it, so that every call sees the same pairs as locally and floats round alike."""
    return max(1, 50_000 // min(n_photos, candidates))


def score_queries(corpus, model, queries, photos, candidates: int, cache=None, progress: bool = True):
    """Every query against the photos, ranked: all of them scored when they are at most `candidates`,
    else the `candidates` the model's two-tower recalls for each query re-ranked (as search does).
    A frame of query_id, image, score (clipped to 0..1) and rank. cache: where the photos' tables
    are kept (the Ray engine's workers keep one across parts)."""
    import pandas as pd
    from tqdm import tqdm

    from .memo import Cache
    from .training import score_matrix
    cache = cache if cache is not None else Cache()   # the photos' tables, computed once for every batch
    names = np.asarray(corpus.images)
    texts = np.asarray(corpus.texts)
    parts = []
    if len(photos) <= candidates:
        step = queries_per_call(len(photos), candidates)
        for start in tqdm(range(0, len(queries), step), desc="scoring", unit="batch",
                          disable=None if progress else True):
            q = queries[start:start + step]
            parts.append((q, np.tile(photos, (len(q), 1)), score_matrix(model, corpus, q, photos, cache)))
    else:
        tower = tower_of(model)
        if tower is None:
            raise WsError(f"The model has no two-tower to recall candidates with; score at most "
                          f"{candidates} photos or raise --candidates to {len(photos)}.")
        index, _ = tower.project(corpus, photos, np.full(len(photos), queries[0]), cache)
        query_rows = tower.project_texts(corpus.text_vectors[queries])
        # queries re-ranked together, about 50,000 pairs a call: one call per query paid the
        # scorers' per-call work 500 times over
        step = queries_per_call(len(photos), candidates)
        for start in tqdm(range(0, len(queries), step), desc="scoring", unit="batch",
                          disable=None if progress else True):
            q = queries[start:start + step]
            cand = np.stack([photos[top_candidates(index, row, candidates)]
                             for row in query_rows[start:start + step]])
            scores = model.score(corpus, cand.ravel(), np.repeat(q, cand.shape[1]), cache)
            parts.append((q, cand, scores.reshape(cand.shape)))
    return _ranked(pd.concat([pd.DataFrame({"query_id": texts[np.repeat(q, ph.shape[1])],
                                            "image": names[ph.ravel()], "score": sc.ravel()})
                              for q, ph, sc in parts], ignore_index=True))


def _ranked(frame):
    """query_id, image, score -> the same, scores clipped to 0..1, with each query's rank (ties by name)."""
    frame["score"] = frame["score"].clip(0, 1)
    frame = frame.sort_values(["query_id", "score", "image"], ascending=[True, False, True])
    frame["rank"] = frame.groupby("query_id").cumcount() + 1
    return frame.reset_index(drop=True)


def score_with_pack(pack, query_ids: list[str], texts: list[str], vectors: np.ndarray, photos: np.ndarray,
                    candidates: int, progress: bool = True):
    """score_queries through a search pack: the pack's stage one (its index, or the exact scan of the
    final tower's first member, as search) recalls `candidates` of the pack rows `photos` per query,
    and the pack scores them as the model does. The photos' vectors never enter memory whole, so a
    catalogue of millions scores within the memory search needs. Only for texts outside the model's
    description bank: the pack scores a new text, and a description would meet itself there."""
    import pandas as pd
    from tqdm import tqdm
    shown = np.zeros(len(pack.images), dtype=bool)
    shown[photos] = True
    ann_index = pack.ann_index()
    names = np.asarray(pack.images)
    parts = []
    for query_id, text, vector in tqdm(list(zip(query_ids, texts, vectors)), desc="scoring", unit="query",
                                       disable=None if progress else True):
        qproj = pack.projections(vector)
        rows = recall(pack.tower.index, qproj[0][:pack.tower.index.shape[1]], candidates, shown, ann_index)
        parts.append(pd.DataFrame({"query_id": query_id, "image": names[rows],
                                   "score": pack.score(vector, text, rows, qproj)}))
    return _ranked(pd.concat(parts, ignore_index=True))
