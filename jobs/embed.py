"""Embed job: every photo and text without a vector for the current encoder version gets one.

Skips by content hash (photo sha256, text sha256), commits per batch: a kill loses at most the batch
in flight and a rerun does the rest.
"""
import hashlib
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from tqdm import tqdm

from ws_core.db import staged, transaction
from ws_core.embedding import embed_images, embed_texts, top_labels
from ws_core.encoders import image_encoder_version, text_encoder_version
from ws_core.jobrun import job_run

PHOTOS_TODO = """
    select p.image, p.path, p.sha256
    from photos p
    left join image_embeddings e on e.image = p.image and e.encoder = ?
    where e.image is null or e.sha256 <> p.sha256
    order by p.image
"""
TEXTS_TODO = """
    select t.text_id, t.text
    from texts t
    left join text_embeddings e on e.text_id = t.text_id and e.encoder = ?
    where e.text_id is null or e.text_sha256 <> sha256(t.text)
    order by t.text_id
"""


@dataclass
class EmbedResult:
    run_id: str
    photos: int
    texts: int
    failed: int


def run_embed(con: duckdb.DuckDBPyConnection, image_encoder: str, text_encoder: str,
              batch_size: int = 32, limit: int | None = None, load=None) -> EmbedResult:
    """`load(kind, name)` builds an encoder; it is only called when there is work to do."""
    from ws_core import encoders
    load = load or (lambda kind, name: getattr(encoders, f"{kind}_encoder")(name))
    image_version, text_version = image_encoder_version(image_encoder), text_encoder_version(text_encoder)
    with job_run(con, "embed") as run:
        # --limit is applied here: DuckDB 2.0.1 drops a LIMIT after this join's OR filter.
        photos = con.execute(PHOTOS_TODO, [image_version]).fetchall()[:limit]
        texts = con.execute(TEXTS_TODO, [text_version]).fetchall()[:limit]
        run.rows_in = len(photos) + len(texts)
        n_photos = n_failed = n_texts = 0
        if photos:
            enc = load("image", image_encoder)
            bar = tqdm(total=len(photos), desc=f"photos {enc.version}", unit="photo", disable=None)
            for batch in embed_images(enc, photos, batch_size):
                with transaction(con):
                    _write_images(con, batch, enc, run.run_id)
                n_photos += len(batch.images)
                n_failed += len(batch.failed)
                bar.update(len(batch.images) + len(batch.failed))
            bar.close()
        if texts:
            enc = load("text", text_encoder)
            bar = tqdm(total=len(texts), desc=f"texts {enc.version}", unit="text", disable=None)
            by_id = dict(texts)
            for ids, vectors in embed_texts(enc, texts, batch_size * 2):
                with transaction(con):
                    _write_texts(con, ids, [by_id[i] for i in ids], vectors, enc.version, run.run_id)
                n_texts += len(ids)
                bar.update(len(ids))
            bar.close()
        run.rows_out = n_photos + n_texts
        run.message = f"{n_failed} photos failed to decode (see quarantine)" if n_failed else None
    return EmbedResult(run.run_id, n_photos, n_texts, n_failed)


def _write_images(con, batch, enc, run_id: str) -> None:
    if batch.failed:
        con.executemany("insert into quarantine values (?, ?, null, ?, ?)",
                        [[run_id, f"embed/{enc.version}", image, reason] for image, reason in batch.failed])
    if not batch.images:
        return
    idx, prob = top_labels(batch.probs)
    k = idx.shape[1]
    vectors = pd.DataFrame({"image": batch.images, "sha256": batch.sha256, "vector": list(batch.features)})
    labels = pd.DataFrame({
        "image": np.repeat(batch.images, k), "rank": np.tile(np.arange(1, k + 1), len(batch.images)),
        "label_index": idx.ravel(), "label": [enc.labels[i] for i in idx.ravel()], "prob": prob.ravel()})
    with staged(con, "staged_vectors", vectors), staged(con, "staged_labels", labels):
        con.execute("delete from image_embeddings where encoder = ? and image in "
                    "(select image from staged_vectors)", [enc.version])
        con.execute("delete from image_labels where encoder = ? and image in "
                    "(select image from staged_vectors)", [enc.version])
        con.execute("insert into image_embeddings select image, ?, ?, sha256, vector::float[1280], ? "
                    "from staged_vectors", [enc.version, enc.dim, run_id])
        con.execute("insert into image_labels select image, ?, rank, label_index, label, prob, ? "
                    "from staged_labels", [enc.version, run_id])


def _write_texts(con, ids, texts, vectors, version: str, run_id: str) -> None:
    frame = pd.DataFrame({"text_id": ids, "text_sha256": [hashlib.sha256(t.encode()).hexdigest()
                                                          for t in texts], "vector": list(vectors)})
    with staged(con, "staged_vectors", frame):
        con.execute("delete from text_embeddings where encoder = ? and text_id in "
                    "(select text_id from staged_vectors)", [version])
        con.execute("insert into text_embeddings select text_id, ?, ?, text_sha256, vector::float[384], ? "
                    "from staged_vectors", [version, vectors.shape[1], run_id])
