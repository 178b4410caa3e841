"""The Ray engine (`--engine ray [--address ADDR]` on `ws embed`, `ws score` and `ws policy run`):
work spread over a Ray cluster with Ray Data, for catalogues one machine cannot process in
reasonable time.

The work is cut into parts (photos to embed, queries to score, photos whose pixel flags to compute),
each named by a digest of everything its result depends on. An actor pool holds the encoder, the
model's search pack (mapped, where the local score job would use it too), or the model and the corpus,
once per worker; each part is computed by the same code as the local engine
and written as one Parquet file (a temporary name renamed into place). The driver then loads every
part in one transaction. A part already on disk is not computed again, so a run killed at any
moment loses nothing: its parts wait for the rerun, and the database changes only in that last
transaction. Ray retries a part whose worker died (MAX_RETRIES). Optional: `pip install 'with-sense[ray]'`.
"""
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

PART_PHOTOS = 256           # photos a part of `ws embed`
PART_QUERIES = 64           # queries a part of `ws score`
PART_FLAGS = 50_000         # photos a part of the pixel flags
MAX_RETRIES = 3


def part_name(*parts) -> str:
    """A part's file name from what its result depends on (strings and arrays)."""
    from .memo import digest
    h = hashlib.sha256()
    for x in parts:
        h.update(digest(x).encode() if isinstance(x, np.ndarray) else str(x).encode())
        h.update(b"\0")
    return f"part-{h.hexdigest()[:24]}.parquet"


class PartWriter:
    """A Ray actor: what every part needs is loaded once (in the subclass' __init__), then each part
    of a batch that is not on disk yet is computed (compute: a row -> a pyarrow table) and written."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def __call__(self, batch: dict) -> dict:
        import pyarrow.parquet as pq
        names, rows = [], []
        for i, name in enumerate(batch["part"]):
            target = self.folder / name
            n = 0
            if not target.exists():
                table = self.compute({k: v[i] for k, v in batch.items()})
                tmp = target.with_name(f".{name}.tmp{os.getpid()}")
                pq.write_table(table, tmp)
                os.replace(tmp, target)        # a part is on disk whole or not at all
                n = table.num_rows
            names.append(name)
            rows.append(n)
        return {"part": names, "rows": rows}

    def compute(self, row: dict):
        raise NotImplementedError


class PartEmbedder(PartWriter):
    """Photos decoded and embedded as the local engine does (ws_core/embedding.py)."""

    def __init__(self, folder: str, encoder: str, batch_size: int):
        super().__init__(folder)
        from .encoders import image_encoder
        self.encoder, self.batch_size = image_encoder(encoder), batch_size

    def compute(self, row: dict):
        import pyarrow as pa

        from .embedding import embed_images, top_labels
        cols = {"image": [], "sha256": [], "vector": [], "label_index": [], "label": [], "prob": [], "failed": []}
        for out in embed_images(self.encoder, list(zip(row["images"], row["paths"], row["shas"])), self.batch_size):
            for image, reason in out.failed:
                for key, value in (("image", image), ("sha256", None), ("vector", None), ("label_index", None),
                                   ("label", None), ("prob", None), ("failed", reason)):
                    cols[key].append(value)
            if out.images:
                idx, prob = top_labels(out.probs)
                cols["image"] += out.images
                cols["sha256"] += out.sha256
                cols["vector"] += [v.astype(np.float32) for v in out.features]
                cols["label_index"] += [i.astype(np.int16) for i in idx]
                cols["label"] += [[self.encoder.labels[j] for j in i] for i in idx]
                cols["prob"] += [p.astype(np.float32) for p in prob]
                cols["failed"] += [None] * len(out.images)
        return pa.table({
            "image": pa.array(cols["image"], pa.string()), "sha256": pa.array(cols["sha256"], pa.string()),
            "vector": pa.array(cols["vector"], pa.list_(pa.float32())),
            "label_index": pa.array(cols["label_index"], pa.list_(pa.int16())),
            "label": pa.array(cols["label"], pa.list_(pa.string())),
            "prob": pa.array(cols["prob"], pa.list_(pa.float32())),
            "failed": pa.array(cols["failed"], pa.string())})


class PartScorer(PartWriter):
    """Queries scored and ranked against the photos as the local score job does
    (ws_core.search.score_queries), the model and the corpus held once per worker, with one cache
    for the photos' projections and neighbours across parts."""

    def __init__(self, folder: str, shared: list, photos: np.ndarray, candidates: int):
        super().__init__(folder)
        import ray

        from .memo import Cache
        self.corpus, self.model = ray.get(shared)
        self.photos, self.candidates, self.cache = np.asarray(photos), candidates, Cache()

    def compute(self, row: dict):
        import pyarrow as pa

        from .search import score_queries
        frame = score_queries(self.corpus, self.model, np.asarray(row["queries"], dtype=int), self.photos,
                              self.candidates, self.cache, progress=False)
        return pa.Table.from_pandas(frame, preserve_index=False)


class PartPackScorer(PartWriter):
    """Queries scored through the model's search pack as the local score job does
    (ws_core.search.score_with_pack): each worker maps the pack's files, so no worker holds the
    photos' vectors whole; the queries' ids, texts and vectors are in Ray's object store once."""

    def __init__(self, folder: str, pack_folder: str, shared: list, photos, candidates: int):
        super().__init__(folder)
        import ray

        from .searchpack import Pack
        self.pack = Pack(Path(pack_folder))
        self.ids, self.texts, self.vectors = ray.get(shared)
        self.photos, self.candidates = np.asarray(photos), candidates

    def compute(self, row: dict):
        import pyarrow as pa

        from .search import score_with_pack
        a, b = int(row["start"]), int(row["stop"])
        frame = score_with_pack(self.pack, self.ids[a:b], self.texts[a:b], self.vectors[a:b], self.photos,
                                self.candidates, progress=False)
        return pa.Table.from_pandas(frame, preserve_index=False)


class PartFlagger(PartWriter):
    """The stored pixel classifier's probability for a slice of the photos."""

    def __init__(self, folder: str, shared: list, model: dict):
        super().__init__(folder)
        import ray
        self.features, self.images, self.model = ray.get(shared[0]), ray.get(shared[1]), model

    def compute(self, row: dict):
        import pyarrow as pa

        from .policy.pixels import probability
        a, b = int(row["start"]), int(row["stop"])
        prob = probability(self.model, self.features[a:b], self.images[a:b])
        return pa.table({"row": pa.array(np.arange(a, b), pa.int64()), "prob": pa.array(prob, pa.float64())})


def parts_folder(parts: Path | None, name: str) -> Path:
    """Where a job's parts go: `parts` must be given (every worker must reach it)."""
    if parts is None:
        from .errors import WsError
        raise WsError("--engine ray needs a folder for its parts (every worker must reach it)")
    return parts / name


def run_parts(rows: list[dict], writer, make_args, folder: Path, address: str | None = None,
              workers: int | None = None, log=lambda m: None, what: str = "parts") -> tuple[list[Path], int]:
    """Every row (a "part" name and its payload) written under `folder` by an actor pool of `writer`,
    constructed with (folder, *make_args()), except the parts already there; make_args runs once Ray
    is up (it may put shared objects in Ray's object store). Returns the parts' paths, in row order,
    and how many were already there."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [r for r in rows if not (folder / r["part"]).exists()]
    if todo:
        _run(todo, writer, make_args, folder, address, workers, log, what)
    missing = [r["part"] for r in rows if not (folder / r["part"]).exists()]
    if missing:
        from .errors import WsError
        raise WsError(f"The Ray run left {len(missing)} parts unwritten (e.g. {missing[0]}); run again: "
                      "written parts are kept.")
    return [folder / r["part"] for r in rows], len(rows) - len(todo)


def _run(todo: list[dict], writer, make_args, folder: Path, address, workers, log, what: str) -> None:
    import logging

    import ray
    logging.getLogger("ray").setLevel(logging.WARNING)       # our own line says what ran where
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else (workers or os.cpu_count()),
                 include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                 logging_level=logging.WARNING)
    try:
        pool = min(workers or max(1, int(ray.cluster_resources().get("CPU", 1))), len(todo))
        ds = ray.data.from_items(todo, override_num_blocks=len(todo))
        for name in ("ray", "ray.data"):           # after init, which sets Ray's own levels
            logging.getLogger(name).setLevel(logging.WARNING)
        with warnings.catch_warnings():    # Ray 2.60 calls the restart settings deprecated, keeps them
            warnings.simplefilter("ignore")
            done = ds.map_batches(writer, fn_constructor_args=(str(folder), *make_args()),
                                  batch_size=1, compute=ray.data.ActorPoolStrategy(size=pool),
                                  num_cpus=1, max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES)
        total = sum(int(row["rows"]) for row in done.iter_rows())
        log(f"ray: {len(todo)} {what}, {total} rows on {pool} workers")
    finally:
        if started_here:
            ray.shutdown()


def embed_parts(items: list[tuple[str, str, str]], encoder: str, batch_size: int, folder: Path,
                address: str | None = None, workers: int | None = None, log=lambda m: None) -> tuple[list[Path], int]:
    """Every part of these photos on disk under `folder` (named by their names and content hashes);
    returns the parts' paths (in photo order) and how many were already there."""
    parts = [items[a:a + PART_PHOTOS] for a in range(0, len(items), PART_PHOTOS)]
    rows = [{"part": part_name("\n".join(f"{image}\t{sha}" for image, _, sha in p)),
             "images": [i for i, _, _ in p], "paths": [q for _, q, _ in p], "shas": [s for _, _, s in p]}
            for p in parts]
    return run_parts(rows, PartEmbedder, lambda: (encoder, batch_size), folder, address, workers, log,
                     "parts of photos")


def score_parts(corpus, model, model_sha: str, queries: np.ndarray, photos: np.ndarray, candidates: int,
                folder: Path, address: str | None = None, workers: int | None = None,
                log=lambda m: None) -> tuple[list[Path], int]:
    """The queries scored against the photos in parts of about PART_QUERIES under `folder` (each part a frame
    of query_id, image, score, rank, as the local score job's); the parts' paths and how many were
    already there. A part is named by the model, the photos (names and vectors), the candidates and
    its queries (ids, vectors and words)."""
    import ray

    from .search import queries_per_call
    step = queries_per_call(len(photos), candidates)
    size = step * max(1, PART_QUERIES // step)          # whole calls of the local engine
    photo_key = (model_sha, candidates, "\n".join(corpus.images[i] for i in photos), corpus.features[photos])
    parts = [queries[a:a + size] for a in range(0, len(queries), size)]
    rows = [{"part": part_name(*photo_key, "\n".join(f"{corpus.texts[q]}\t{corpus.raw_texts[q]}" for q in part),
                               corpus.text_vectors[part]), "queries": part.tolist()} for part in parts]
    return run_parts(rows, PartScorer, lambda: ([ray.put(corpus), ray.put(model)], photos, candidates),
                     folder, address, workers, log, "parts of queries")


def pack_score_parts(pack_folder: Path, ids: list[str], texts: list[str], vectors: np.ndarray, photos: np.ndarray,
                     candidates: int, folder: Path, address: str | None = None, workers: int | None = None,
                     log=lambda m: None) -> tuple[list[Path], int]:
    """The queries scored through the search pack at `pack_folder` (which every worker must reach) in
    parts of PART_QUERIES under `folder`; the parts' paths and how many were already there. A part is
    named by the pack (its name digests the model and every vector it was built from), the photos'
    rows, the candidates and its queries (ids, words and vectors)."""
    import ray
    bounds = [(a, min(a + PART_QUERIES, len(ids))) for a in range(0, len(ids), PART_QUERIES)]
    rows = [{"part": part_name(pack_folder.name, candidates, np.asarray(photos, dtype=np.int64),
                               "\n".join(f"{i}\t{t}" for i, t in zip(ids[a:b], texts[a:b])), vectors[a:b]),
             "start": a, "stop": b} for a, b in bounds]
    return run_parts(rows, PartPackScorer,
                     lambda: (str(pack_folder), [ray.put(ids), ray.put(texts), ray.put(vectors)], photos, candidates),
                     folder, address, workers, log, "parts of queries")


def flag_parts(images: list[str], features: np.ndarray, model: dict, folder: Path, address: str | None = None,
               workers: int | None = None, log=lambda m: None) -> tuple[np.ndarray, int, int]:
    """The pixel classifier's probability for every photo, computed in parts of PART_FLAGS; the
    probabilities (in row order), the number of parts and how many were already there."""
    import pyarrow.parquet as pq
    import ray
    key = tuple(np.asarray(model[k], dtype=np.float64) for k in ("feature_mean", "feature_scale", "coef")) + (
        model["intercept"], model.get("knn_weight", 0.0), model.get("knn_k"), model.get("knn_temperature"),
        "\n".join(model.get("knn_images", [])), np.asarray(model.get("knn_labels", []), dtype=bool))
    bounds = [(a, min(a + PART_FLAGS, len(images))) for a in range(0, len(images), PART_FLAGS)]
    rows = [{"part": part_name(*key, "\n".join(images[a:b]), features[a:b]), "start": a, "stop": b}
            for a, b in bounds]
    paths, reused = run_parts(rows, PartFlagger, lambda: ([ray.put(features), ray.put(images)], model),
                              folder, address, workers, log, "parts of photos")
    prob = np.empty(len(images))
    for path in paths:
        part = pq.read_table(path)
        prob[part["row"].to_numpy()] = part["prob"].to_numpy()
    return prob, len(paths), reused
