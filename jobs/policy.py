"""Policy job: flag every query that asks for children and every photo that may show one.

Sources: 'vocabulary' and 'classifier' (a train or test query's own text, read by the vocabulary and
the meaning classifier in ws_core/policy/meaning.py, trained here on the shipped labelled queries),
'description' (a photo's descriptions; test queries are never used for photos: they are what
evaluation asks), 'pixels' (the classifier in ws_core/policy/pixels.py). All flags are rebuilt in one
transaction, and only when the vocabulary, labelled queries, texts or photo vectors changed.
"""
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ws_core.db import staged, transaction
from ws_core.distributed import parts_folder
from ws_core.encoders import image_encoder_version
from ws_core.jobrun import job_run, utc_now
from ws_core.policy import check, load_vocabulary
from ws_core.policy import meaning
from ws_core.policy import pixels as pixel_model
from ws_core.policy.query import term_keys


@dataclass
class PolicyResult:
    run_id: str | None          # None: nothing changed, nothing done
    flags: dict                 # source -> rows written
    metrics: dict


def fingerprint(con, image_version: str, params: pixel_model.PixelParams,
                text_params: meaning.MeaningParams = meaning.MeaningParams()) -> str:
    parts = con.execute(
        "select "
        "(select sha256(string_agg(term || lang || match || decision, ',' order by term, lang)) from policy_terms), "
        "(select sha256(string_agg(text_id || '|' || sha256(text) || is_description || is_train_query || "
        "is_test_query, ',' order by text_id)) from texts), "
        "(select sha256(string_agg(image || sha256, ',' order by image)) from image_embeddings where encoder = ?)",
        [image_version]).fetchone()
    return hashlib.sha256("\n".join(map(str, [*parts, image_version, params, text_params,
                                             meaning.labelled_sha256()])).encode()).hexdigest()


def run_policy(con: duckdb.DuckDBPyConnection, image_encoder: str = "effnet-lite2",
               params: pixel_model.PixelParams | None = None, force: bool = False,
               log=print, text_params: meaning.MeaningParams | None = None, encode=None,
               engine: str = "local", parts: Path | None = None, address: str | None = None) -> PolicyResult:
    """encode: texts -> sentence vectors for the meaning classifier (USE-m unless a test hands one).
    engine "ray": the pixel flags' probabilities are computed on a Ray cluster (`address`, default a
    local one) in Parquet parts under `parts` (ws_core/distributed.py); the flags are the same."""
    params = params or pixel_model.PixelParams()
    text_params = text_params or meaning.MeaningParams()
    image_version = image_encoder_version(image_encoder)
    fp = fingerprint(con, image_version, params, text_params)
    last = con.execute("select fingerprint from policy_runs order by finished_at desc limit 1").fetchone()
    if last and last[0] == fp and not force:
        with job_run(con, "policy") as run:
            run.message = "unchanged since the last policy run: nothing done"
        return PolicyResult(None, {}, {})
    vocab = load_vocabulary(con)
    with job_run(con, "policy") as run:
        texts = con.execute("select text_id, image, text, is_description, is_train_query or is_test_query, "
                            "is_test_query from texts order by text_id").df()
        texts.columns = ["text_id", "image", "text", "is_description", "is_query", "is_test_query"]
        decisions = [check(t, vocab) for t in texts["text"]]
        texts["child"] = [d.is_child for d in decisions]
        texts["evidence"] = [", ".join(d.evidence) for d in decisions]
        text_model, metrics = _fit_meaning(texts, vocab, text_params, encode, log)
        rows = _query_flags(texts[texts.is_query], vocab, text_model, encode, metrics)
        described = texts[texts.is_description]
        n_described = described.groupby("image").size()
        for image, group in described[described.child].groupby("image"):
            first = group.iloc[0]
            rows.append(("photo", image, "description", 1.0,
                         f"{len(group)} of {n_described[image]} descriptions; "
                         f"{first.evidence}: {first.text}"))
        folder = parts_folder(parts, "pixel-flags") if engine == "ray" else None
        pix_rows, pix_metrics, linear, run.message = _pixel_flags(con, image_version, described, texts, params,
                                                                  log, folder, address)
        rows += pix_rows
        metrics |= pix_metrics
        flags = pd.DataFrame(rows, columns=["entity_kind", "entity_id", "source", "score", "evidence"])
        with transaction(con), staged(con, "staged_flags", flags):
            con.execute("delete from policy_flags")
            con.execute("insert into policy_flags (entity_kind, entity_id, flag, source, score, evidence, "
                        "job_run_id) select entity_kind, entity_id, 'child', source, score, evidence, ? "
                        "from staged_flags", [run.run_id])
            if metrics:
                con.executemany("insert into policy_metrics (job_run_id, metric, value) values (?, ?, ?)",
                                [[run.run_id, k, float(v)] for k, v in metrics.items()])
            con.execute("insert into policy_runs (job_run_id, fingerprint, image_encoder, finished_at) "
                        "values (?, ?, ?, ?)", [run.run_id, fp, image_version, utc_now()])
            if text_model is not None:
                m = text_model
                con.execute("insert into policy_text_models (job_run_id, encoder, coef, intercept, threshold, "
                            "veto, veto_cosine, example_texts, example_labels, example_vectors, example_hard, "
                            "labelled_sha256) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [run.run_id, m.encoder, m.coef.tolist(), m.intercept, m.threshold, m.veto, m.veto_cosine,
                             m.example_texts, m.example_labels.tolist(), m.example_vectors.ravel().tolist(),
                             m.example_hard.tolist(), meaning.labelled_sha256()])
            if linear:
                con.execute("insert into policy_pixel_models (job_run_id, image_encoder, feature_mean, "
                            "feature_scale, coef, intercept, threshold, knn_weight, knn_k, knn_temperature, "
                            "knn_images, knn_labels) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [run.run_id, image_version, linear["feature_mean"], linear["feature_scale"],
                             linear["coef"], linear["intercept"], linear["threshold"], linear["knn_weight"],
                             linear["knn_k"], linear["knn_temperature"], linear["knn_images"],
                             linear["knn_labels"]])
        run.rows_in = len(texts)
        run.rows_out = len(flags)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)     # committed: the parts are not needed again
    return PolicyResult(run.run_id, flags.groupby("source").size().to_dict(), metrics)


def _fit_meaning(texts, vocab, params: meaning.MeaningParams, encode, log):
    """The meaning classifier on the labelled queries (and, if params say so, a fixed sample of
    descriptions weakly labelled by the vocabulary), with its cross-validated quality as metrics."""
    from ws_core.encoders.multilingual import USE_VERSION, map_sample
    encode = encode or meaning.use_vectors
    lab = meaning.load_labelled()
    lab_x = encode(list(lab.text))
    decisions = [check(t, vocab) for t in lab.text]
    lab_vocab = [d.is_child for d in decisions]
    lab_terms = [term_keys(d, vocab) for d in decisions]
    described = texts[texts.is_description].set_index("text_id")
    ids = map_sample(list(described.index), params.descriptions) if params.descriptions else []
    desc_x = encode(list(described.loc[ids, "text"])) if ids else np.zeros((0, lab_x.shape[1]), np.float32)
    model, m = meaning.fit(lab_x, lab.asks_for_children.values, lab.lang.values, lab_vocab, desc_x,
                           described.loc[ids, "child"].values if ids else [], params, USE_VERSION,
                           list(lab.text), lab_terms)
    log(f"query classifier: threshold {model.threshold:.3f}, veto {model.veto:.3f}; cross-validated recall / "
        f"false alarms: English {m.get('cv_en_recall', float('nan')):.3f} / "
        f"{m.get('cv_en_false_alarms', float('nan')):.3f}, Russian {m.get('cv_ru_recall', float('nan')):.3f} / "
        f"{m.get('cv_ru_false_alarms', float('nan')):.3f}")
    return model, {f"query_{k}": v for k, v in m.items()}


def _query_flags(queries, vocab, model, encode, metrics) -> list[tuple]:
    """Every stored query decided as `ws policy check` decides it; the source names what decided."""
    check_ = meaning.QueryCheck(vocab, model, encode)
    decisions = check_.many(list(queries.text))
    rows = [("query", text_id, d.source, 1.0 if d.score is None else d.score, f"{'; '.join(d.evidence)}: {text}")
            for text_id, text, d in zip(queries.text_id, queries.text, decisions) if d.is_child]
    metrics["query_overruled_words"] = sum(d.source == "classifier" and not d.is_child for d in decisions)
    return rows


def _pixel_flags(con, image_version, described, texts, params, log, folder: Path | None = None,
                 address: str | None = None) -> tuple[list, dict, dict | None, str | None]:
    """(flag rows, metrics, the classifier as numbers, a note); folder: the probabilities on Ray, in
    parts there."""
    photos = con.execute("select e.image, p.split, e.vector from image_embeddings e "
                         "join photos p using (image) where e.encoder = ? order by e.image",
                         [image_version]).fetchall()
    if not photos:
        log("no photo vectors: run `ws embed` for pixel flags")
        return [], {}, None, None
    images = [p[0] for p in photos]
    split = np.array([p[1] for p in photos])
    features = np.array([p[2] for p in photos], dtype=np.float32)
    by_photo = described.groupby("image")["child"].any()
    train = np.array([i in by_photo.index for i in images])
    labels = np.array([bool(by_photo.get(i, False)) for i in images])
    try:
        clf = pixel_model.fit(features[train], labels[train], params, [im for im, t in zip(images, train) if t])
    except ValueError as exc:
        log(f"pixel classifier not trained: {exc}")
        return [], {}, None, None
    note = None
    if folder is not None:
        from ws_core.distributed import flag_parts
        prob, n, reused = flag_parts(images, features, clf.linear(), folder, address, log=log)
        note = f"engine ray: pixel flags in {n} parts ({reused} from an earlier run)"
    else:
        prob = clf.predict_proba(features, images)
    flagged = prob >= clf.threshold
    rows = [("photo", images[i], "pixels", float(prob[i]),
             f"classifier p={prob[i]:.3f} >= threshold {clf.threshold:.3f} (out-of-fold recall "
             f"{clf.metrics['cv_recall']:.2f} on {clf.metrics['n_train']} described photos)")
            for i in np.flatnonzero(flagged)]
    metrics = dict(clf.metrics)
    # Held-out check: a test photo is a child photo if one of its queries asks for a child. The
    # classifier never saw those queries (test photos have no descriptions).
    asks = texts[texts.is_test_query].groupby("image")["child"].any()
    test = (split == "test") & np.array([i in asks.index for i in images])
    if test.any():
        truth = np.array([bool(asks[i]) for i in np.array(images)[test]])
        hit = flagged[test]
        metrics |= {"test_photos": int(test.sum()), "test_child": int(truth.sum()),
                    "test_flagged": int(hit.sum()),
                    "test_recall": float(hit[truth].mean()) if truth.any() else float("nan"),
                    "test_precision": float(truth[hit].mean()) if hit.any() else float("nan")}
    return rows, metrics, clf.linear(), note

