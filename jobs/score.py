"""Score job: the active model scores a query set against a photo set and writes `scores`.

Up to `candidates` photos (default BATCH_CANDIDATES), every pair is scored (the same call the training
job's test evaluation makes, so rpt_retrieval_metrics reproduces model_metrics exactly); above, the
two-tower recalls `candidates` photos per query and the model re-ranks them, and only those rows are
stored; there, where the model's search pack is current, test queries go through it as search's do
(ws_core/search.py score_with_pack; on Ray too), so the photos' vectors are never loaded whole. Batch work has no
latency budget and full scoring shares the photo-side work across queries:
977 train queries x 1463 photos took 20 s in full and 140 s in two stages of 1000 (measured once with
`ws score --queries train --photos all --candidates N --force`), so batches go two-stage only when
the catalogue outgrows BATCH_CANDIDATES. A run replaces
the previous rows of the same (model, query set, photo set) in one transaction.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from ws_core.config import BATCH_CANDIDATES, PHOTO_SETS, QUERY_SETS
from ws_core.db import staged, transaction
from ws_core.errors import WsError
from ws_core.jobrun import job_run, utc_now


@dataclass
class ScoreResult:
    run_id: str | None
    model_id: str
    n_queries: int
    n_photos: int
    rows: int
    skipped: bool = False
    through_pack: bool = False


def run_score(con: duckdb.DuckDBPyConnection, query_set: str = "test", photo_set: str = "test",
              model_id: str | None = None, force: bool = False,
              candidates: int = BATCH_CANDIDATES, engine: str = "local", parts: Path | None = None,
              address: str | None = None, log=lambda m: None) -> ScoreResult:
    """engine "ray": the queries are scored on a Ray cluster (`address`, default a local one) in
    Parquet parts under `parts`, loaded in the same one transaction (ws_core/distributed.py)."""
    from ws_core.search import active_model
    if query_set not in QUERY_SETS:
        raise WsError(f"Unknown query set {query_set!r}; choose from {', '.join(QUERY_SETS)}.")
    if photo_set not in PHOTO_SETS:
        raise WsError(f"Unknown photo set {photo_set!r}; choose from {', '.join(PHOTO_SETS)}.")
    entry = active_model(con, model_id)
    if not force:
        same = _unchanged(con, entry["model_id"], query_set, photo_set, candidates)
        if same:
            with job_run(con, "score") as run:
                run.message = f"unchanged since the last {query_set} x {photo_set} run: nothing done"
            return ScoreResult(None, entry["model_id"], *same, rows=0, skipped=True)
    with job_run(con, "score") as run:
        packed = _pack_inputs(con, entry, query_set, photo_set, candidates)
        if packed is not None:
            frame, folder, note = _through_pack(*packed, candidates, engine, parts, address, log)
            run.message = "; ".join(filter(None, ["through the search pack", note]))
            n_queries, n_photos = len(packed[1]), len(packed[4])
        else:
            frame, n_queries, n_photos, folder, run.message = _through_corpus(
                con, entry, query_set, photo_set, candidates, engine, parts, address, log)
        run.rows_in = n_queries * n_photos
        _store(con, run.run_id, entry["model_id"], query_set, photo_set, frame, n_queries, n_photos, candidates)
        run.rows_out = len(frame)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)       # loaded: the parts are not needed again
    return ScoreResult(run.run_id, entry["model_id"], n_queries, n_photos, len(frame), through_pack=packed is not None)


def _through_corpus(con, entry, query_set, photo_set, candidates, engine, parts, address, log):
    """(frame, queries, photos, the Ray parts' folder or None, the job's note) with the corpus loaded."""
    from ws_core.corpus import load_corpus
    from ws_core.search import load_model, score_queries
    corpus = load_corpus(con, entry["image_encoder"], entry["text_encoder"])
    model = load_model(entry)
    # the role column names come from QUERY_SETS (config), never from the user
    wanted = {t for (t,) in con.execute(f"select text_id from texts where {QUERY_SETS[query_set]}").fetchall()}
    queries = np.asarray([i for i, t in enumerate(corpus.texts) if t in wanted], dtype=int)
    in_set = corpus.image_split == photo_set if photo_set != "all" else np.ones(len(corpus.images), bool)
    # a photo whose file is missing or changed (jobs/files.py) is not scored until it returns
    on_disk = {im for (im,) in con.execute("select image from photos where status = 'ok'").fetchall()}
    photos = np.flatnonzero(in_set & np.isin(np.asarray(corpus.images), list(on_disk)))
    if len(queries) == 0 or len(photos) == 0:
        raise WsError(f"Nothing to score: {len(queries)} {query_set} queries with vectors and "
                      f"{len(photos)} {photo_set} photos with vectors; run `ws embed` first.")
    if engine == "ray":
        frame, folder, note = _score_on_ray(corpus, model, entry, queries, photos, candidates, parts, address, log)
        return frame, len(queries), len(photos), folder, note
    return score_queries(corpus, model, queries, photos, candidates), len(queries), len(photos), None, None


def _store(con, run_id, model_id, query_set, photo_set, frame, n_queries, n_photos, candidates):
    """The run's rows replace the previous run of the same (model, query set, photo set), in one transaction."""
    with transaction(con), staged(con, "staged_scores", frame):
        con.execute("delete from scores where run_id in (select run_id from score_runs where model_id = ? "
                    "and query_set = ? and photo_set = ?)", [model_id, query_set, photo_set])
        con.execute("delete from score_runs where model_id = ? and query_set = ? and photo_set = ?",
                    [model_id, query_set, photo_set])
        con.execute("insert into scores (run_id, model_id, query_id, image, score, rank) "
                    "select ?, ?, query_id, image, score, rank from staged_scores", [run_id, model_id])
        con.execute("insert into score_runs (run_id, model_id, query_set, photo_set, n_queries, n_photos, "
                    "candidates, created_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, model_id, query_set, photo_set, n_queries, n_photos, min(candidates, n_photos),
                     utc_now()])


def _pack_inputs(con, entry, query_set, photo_set, candidates):
    """(pack, query ids, texts, vectors, pack rows of the photos) to score through the model's current
    search pack (`ws pack`; the nightly builds it before this stage), or None where the corpus is
    loaded instead: no current pack with a two-tower, few enough photos to score every pair, or a
    query set of descriptions (the pack scores new texts: a description would meet itself in the
    caption bank)."""
    from ws_core.searchpack import Pack
    pack = Pack.open(con, entry)
    if pack is None or pack.tower is None:
        return None
    # the role column names come from QUERY_SETS, never from the user
    got = con.execute("select t.text_id, t.text, e.vector, t.is_description from texts t join text_embeddings e "
                      f"on e.text_id = t.text_id and e.encoder = ? where {QUERY_SETS[query_set]} order by t.text_id",
                      [entry["text_encoder"]]).fetchnumpy()
    if not len(got["text_id"]) or got["is_description"].any():
        return None
    # a photo whose file is missing or changed (jobs/files.py) is not scored until it returns
    wanted = [im for (im,) in con.execute("select image from photos where status = 'ok' and (? = 'all' or split = ?)",
                                          [photo_set, photo_set]).fetchall()]
    photos = np.flatnonzero(np.isin(np.asarray(pack.images), wanted))
    if len(photos) <= candidates:
        return None
    return (pack, [str(t) for t in got["text_id"]], [str(t) for t in got["text"]],
            np.stack(got["vector"]).astype(np.float32), photos)


def _through_pack(pack, ids, texts, vectors, photos, candidates, engine, parts: Path | None, address, log):
    """(frame, the Ray parts' folder or None, the job's note) scored through the pack; on Ray each
    worker maps the pack and scores parts of the queries with the same code, so the rows are the same."""
    from ws_core.search import score_with_pack
    if engine != "ray":
        return score_with_pack(pack, ids, texts, vectors, photos, candidates), None, None
    from ws_core.distributed import pack_score_parts, parts_folder
    folder = parts_folder(parts, f"score-{pack.folder.name}")
    frame, note = _read_parts(*pack_score_parts(pack.folder, ids, texts, vectors, photos, candidates, folder,
                                                address, log=log))
    return frame, folder, note


def _score_on_ray(corpus, model, entry, queries, photos, candidates, parts: Path | None, address, log):
    """(the frame the local engine would give, the parts' folder, the job's note)."""
    from ws_core.distributed import parts_folder, score_parts
    folder = parts_folder(parts, f"score-{entry['model_id']}")
    frame, note = _read_parts(*score_parts(corpus, model, entry["sha256"], queries, photos, candidates, folder,
                                           address, log=log))
    return frame, folder, note


def _read_parts(paths: list[Path], reused: int):
    """The Ray parts as one frame, and the job's note."""
    import pandas as pd
    import pyarrow.parquet as pq
    frame = pd.concat([pq.read_table(p).to_pandas() for p in paths], ignore_index=True)
    return frame, f"engine ray: {len(paths)} parts ({reused} from an earlier run)"


def _unchanged(con, model_id, query_set, photo_set, candidates):
    """(n_queries, n_photos) of the stored run if it is newer than every input it read and recalled
    as many candidates as asked."""
    row = con.execute(
        "select n_queries, n_photos from score_runs r where model_id = ? and query_set = ? and photo_set = ? "
        "and candidates = least(?, n_photos) "
        "and created_at >= (select max(finished_at) from job_runs where status = 'ok' and "
        "job in ('ingest', 'files', 'embed', 'train') and rows_out > 0)",
        [model_id, query_set, photo_set, candidates]).fetchone()
    return row
