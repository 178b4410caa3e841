"""Embed job: every photo and text without a vector for the current encoder version gets one.

Skips by content hash (photo sha256, text sha256), commits per batch: a kill loses at most the batch
in flight and a rerun does the rest.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path

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
              batch_size: int = 32, limit: int | None = None, load=None, use=None, engine: str = "local",
              parts: Path | None = None, address: str | None = None, log=lambda m: None) -> EmbedResult:
    """`load(kind, name)` builds an encoder, `use` is the multilingual one; each is only made when
    there is work to do. engine "ray": photos are embedded on a Ray cluster (`address`, default a local
    one) into Parquet parts under `parts` and loaded in one transaction (ws_core/distributed.py)."""
    from ws_core import encoders
    load = load or (lambda kind, name: getattr(encoders, f"{kind}_encoder")(name))
    image_version, text_version = image_encoder_version(image_encoder), text_encoder_version(text_encoder)
    with job_run(con, "embed") as run:
        # --limit is applied here: DuckDB 2.0.1 drops a LIMIT after this join's OR filter.
        photos = con.execute(PHOTOS_TODO, [image_version]).fetchall()[:limit]
        texts = con.execute(TEXTS_TODO, [text_version]).fetchall()[:limit]
        run.rows_in = len(photos) + len(texts)
        n_photos = n_failed = n_texts = 0
        if photos and engine == "ray":
            n_photos, n_failed, run.message = _embed_on_ray(con, photos, image_encoder, image_version,
                                                            batch_size, parts, address, run.run_id, log)
        elif photos:
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
        n_map = _fit_text_map(con, text_version, use, run.run_id)
        run.rows_out = n_photos + n_texts + (n_map > 0)
        failed = f"{n_failed} photos failed to decode (see quarantine)" if n_failed else None
        run.message = "; ".join(m for m in (run.message, failed) if m) or None
    return EmbedResult(run.run_id, n_photos, n_texts, n_failed)


def _embed_on_ray(con, photos, image_encoder: str, version: str, batch_size: int, parts: Path | None,
                  address: str | None, run_id: str, log) -> tuple[int, int, str]:
    """Parts embedded on Ray, then loaded in one transaction; the parts are removed once committed."""
    import shutil

    import pyarrow.parquet as pq

    from ws_core.distributed import embed_parts, parts_folder
    folder = parts_folder(parts, f"embed-{version.replace('/', '-')}")
    paths, reused = embed_parts(photos, image_encoder, batch_size, folder, address, log=log)
    n_ok = n_failed = 0
    with transaction(con):                  # every part, one at a time, in one transaction
        for path in paths:
            part = pq.read_table(path)
            failed = part["failed"].to_pylist()
            ok = np.flatnonzero([f is None for f in failed])
            part_ok = part.take(ok)
            # list columns to arrays without a Python float per value (none when every photo failed)
            flat = lambda name: (np.asarray(part_ok[name].combine_chunks().flatten()).reshape(len(ok), -1)  # noqa: E731
                                 if len(ok) else None)
            _write_rows(con, version, run_id, part_ok["image"].to_pylist(), part_ok["sha256"].to_pylist(),
                        flat("vector"), flat("label_index"), part_ok["label"].to_pylist(), flat("prob"),
                        [(im, f) for im, f in zip(part["image"].to_pylist(), failed) if f is not None])
            n_ok, n_failed = n_ok + len(ok), n_failed + len(failed) - len(ok)
    shutil.rmtree(folder, ignore_errors=True)
    return n_ok, n_failed, f"engine ray: {len(paths)} parts ({reused} from an earlier run)"


def _write_images(con, batch, enc, run_id: str) -> None:
    idx = prob = names = None
    if batch.images:
        idx, prob = top_labels(batch.probs)
        names = [[enc.labels[j] for j in row] for row in idx]
    _write_rows(con, enc.version, run_id, batch.images, batch.sha256, batch.features, idx, names, prob,
                batch.failed)


def _write_rows(con, version: str, run_id: str, images, shas, features, idx, names, prob, failed) -> None:
    """One batch of photos' vectors and top labels (replacing what the encoder version had), and its
    photos that failed to decode into quarantine."""
    if failed:
        con.executemany("insert into quarantine (job_run_id, source, line_no, raw, reason) "
                        "values (?, ?, null, ?, ?)",
                        [[run_id, f"embed/{version}", image, reason] for image, reason in failed])
    if not images:
        return
    k = idx.shape[1]
    vectors = pd.DataFrame({"image": images, "sha256": shas, "vector": list(features)})
    labels = pd.DataFrame({
        "image": np.repeat(images, k), "rank": np.tile(np.arange(1, k + 1), len(images)),
        "label_index": np.asarray(idx).ravel(), "label": [n for row in names for n in row],
        "prob": np.asarray(prob).ravel()})
    dim = features.shape[1]
    with staged(con, "staged_vectors", vectors), staged(con, "staged_labels", labels):
        con.execute("delete from image_embeddings where encoder = ? and image in "
                    "(select image from staged_vectors)", [version])
        con.execute("delete from image_labels where encoder = ? and image in "
                    "(select image from staged_vectors)", [version])
        con.execute("insert into image_embeddings (image, encoder, dim, sha256, vector, job_run_id) "
                    "select image, ?, ?, sha256, vector::float[1280], ? from staged_vectors",
                    [version, dim, run_id])
        con.execute("insert into image_labels (image, encoder, rank, label_index, label, prob, job_run_id) "
                    "select image, ?, rank, label_index, label, prob, ? from staged_labels", [version, run_id])


def _write_texts(con, ids, texts, vectors, version: str, run_id: str) -> None:
    frame = pd.DataFrame({"text_id": ids, "text_sha256": [hashlib.sha256(t.encode()).hexdigest()
                                                          for t in texts], "vector": list(vectors)})
    with staged(con, "staged_vectors", frame):
        con.execute("delete from text_embeddings where encoder = ? and text_id in "
                    "(select text_id from staged_vectors)", [version])
        con.execute("insert into text_embeddings (text_id, encoder, dim, text_sha256, vector, job_run_id) "
                    "select text_id, ?, ?, text_sha256, vector::float[384], ? from staged_vectors",
                    [version, vectors.shape[1], run_id])


MIN_MAP_TEXTS = 50   # fewer English descriptions than this fit no multilingual map


def _fit_text_map(con, text_version: str, use, run_id: str) -> int:
    """The multilingual map into this text encoder's space and its glossary, fitted once per encoder
    pair on a fixed sample of English descriptions (ws_core/encoders/multilingual.py); a map stored
    before the glossary existed, or before the installed English-Russian dictionary, is fitted again
    (never for want of one: a map built where a dictionary was keeps it). Returns the texts fitted on."""
    from ws_core.encoders import dictionary
    from ws_core.encoders import multilingual as ml
    source = dictionary.located()
    wanted = dictionary.identity(source) if source else None
    if con.execute("select 1 from text_maps where source_encoder = ? and target_encoder = ? and words is not null "
                   "and (?::varchar is null or dictionary is not distinct from ?)",
                   [ml.USE_VERSION, text_version, wanted, wanted]).fetchone():
        return 0
    described = con.execute("select t.text_id, t.text from texts t join text_embeddings e using (text_id) "
                            "where e.encoder = ? and t.is_description", [text_version]).fetchall()
    english = {i: t for i, t in described if ml.is_english(t)}
    if len(english) < MIN_MAP_TEXTS:
        return 0
    ids = ml.map_sample(list(english))
    target = con.execute("select e.vector from unnest(?::varchar[]) with ordinality as s(text_id, n) "
                         "join text_embeddings e using (text_id) where e.encoder = ? order by s.n",
                         [ids, text_version]).fetchnumpy()["vector"]
    use = use or ml.use_encoder()
    words = ml.glossary([english[i] for i in ids])
    texts = [english[i] for i in ids] + words
    vectors = np.vstack([np.atleast_2d(use.encode(texts[a:a + 256]))
                         for a in tqdm(range(0, len(texts), 256), desc="multilingual map", unit="batch",
                                       disable=None)])
    fitted = ml.CrossLingualMap.fit(vectors[:len(ids)], np.stack(target).astype(np.float32))
    word_vectors = vectors[len(ids):].astype("<f2").tobytes()
    translated = dictionary.translations(source, set(words)) if source else {}
    lines = "".join(f"{ru}\t{w}\n" for w in words for ru in translated.get(w, []))
    with transaction(con):
        con.execute("delete from text_maps where source_encoder = ? and target_encoder = ?",
                    [ml.USE_VERSION, text_version])
        con.execute("insert into text_maps (source_encoder, target_encoder, dims, weights, bias, alpha, "
                    "n_texts, heldout_cosine, job_run_id, words, word_vectors, translations, dictionary) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [ml.USE_VERSION, text_version, fitted.weights.shape[1], fitted.weights.ravel().tolist(),
                     fitted.bias.tolist(), fitted.alpha, fitted.n_texts, fitted.heldout_cosine, run_id,
                     words, word_vectors, lines or None, wanted])
    return fitted.n_texts
