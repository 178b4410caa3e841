"""Train job: cross-validate each model, fit it on all training data, score the test queries once,
save the weights and register everything; the best by the stated CV criterion becomes active."""
import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from ws_core import training
from ws_core.corpus import load_corpus
from ws_core.db import staged, transaction
from ws_core.encoders import image_encoder_version, text_encoder_version
from ws_core.errors import WsError
from ws_core.jobrun import job_run, utc_now
from ws_core.scorers import save_scorer


@dataclass
class TrainResult:
    run_id: str
    trained: list[training.Evaluation]
    skipped: list[str]
    active: str | None


def code_version() -> str:
    """A hash of the code that fits and scores models (the scorers and the evaluation): a change to
    it retrains every model, as a change to the data does."""
    root = Path(__file__).resolve().parent.parent / "ws_core"
    files = sorted((root / "scorers").glob("*.py")) + [root / "training.py", root / "memo.py"]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()


def data_fingerprint(con, image_version: str, text_version: str) -> str:
    """Changes when a target, a description, a photo's content, an encoder version or the models'
    code (code_version) changes."""
    parts = con.execute(
        "select "
        "(select sha256(string_agg(image || '|' || text_id || '|' || target, ',' order by image, text_id)) "
        " from train_targets), "
        "(select sha256(string_agg(text_id || '|' || sha256(text), ',' order by text_id)) from texts), "
        "(select sha256(string_agg(image || '|' || sha256 || '|' || split, ',' order by image)) from photos)"
    ).fetchone()
    return hashlib.sha256("\n".join(map(str, [*parts, image_version, text_version, code_version()]))
                          .encode()).hexdigest()


def run_train(con: duckdb.DuckDBPyConnection, artifacts: Path, names: list[str], folds: int = 5,
              seed: int = 0, image_encoder: str = "effnet-lite2", text_encoder: str = "minilm-l6",
              force: bool = False, log=print) -> TrainResult:
    unknown = [n for n in names if n not in training.MODELS]
    if unknown:
        raise WsError(f"Unknown model {unknown[0]!r}; choose from {', '.join(training.MODELS)} or all.")
    image_version, text_version = image_encoder_version(image_encoder), text_encoder_version(text_encoder)
    fingerprint = data_fingerprint(con, image_version, text_version)
    corpus = None
    trained, skipped = [], []
    with job_run(con, "train") as run:
        _sweep(con, artifacts)
        for name in names:
            params = json.dumps(dataclasses.asdict(training.make_scorer(name).params), sort_keys=True)
            same = con.execute(
                "select model_id from models where name = ? and params = ? and image_encoder = ? and "
                "text_encoder = ? and data_fingerprint = ? and folds = ? and seed = ?",
                [name, params, image_version, text_version, fingerprint, folds, seed]).fetchone()
            if same and not force:
                skipped.append(name)
                continue
            if corpus is None:
                # models learn from the photos texts were written for; a catalogue's undescribed
                # photos would only hold memory (9 KB each)
                corpus = load_corpus(con, image_version, text_version, labelled_only=True)
                if corpus.targets.empty:
                    raise WsError("No judged pairs to train on: ingest ExpertAnnotations.tsv or "
                                  "CrowdAnnotations.tsv first.")
                run.rows_in = len(corpus.targets)
                cache = training.run_cache()    # the run's models share their towers and bridges through it
            log(f"{name}: {folds}-fold cross-validation ...")
            ev = training.cross_validate(corpus, name, folds, seed, cache=cache)
            model = training.fit_final(corpus, name, seed, cache)
            ev.test = training.evaluate_test(model, corpus, cache)
            model_id = f"{name}-{run.run_id}"
            artifact = artifacts / f"{model_id}.pt"
            sha = save_scorer(model, artifact)
            with transaction(con):
                con.execute(
                    "insert into models (model_id, name, kind, params, image_encoder, text_encoder, "
                    "data_fingerprint, folds, seed, trained_at, seconds, artifact, sha256, is_active, job_run_id) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?)",
                    [model_id, name, model.kind, params, image_version, text_version, fingerprint,
                     folds, seed, utc_now(), ev.seconds, str(artifact.resolve()), sha, run.run_id])
                covered = ~np.isnan(ev.oof)
                oof = corpus.targets.loc[covered, ["image", "text_id", "target"]].assign(score=ev.oof[covered])
                with staged(con, "staged_oof", oof):
                    con.execute("insert into model_oof (model_id, image, text_id, score, target) "
                                "select ?, image, text_id, score, target from staged_oof",
                                [model_id])
                con.executemany("insert into model_metrics (model_id, split, metric, value) values (?, ?, ?, ?)",
                                [[model_id, split, m, v] for split, values in (("cv", ev.cv), ("test", ev.test))
                                 for m, v in values.items()])
            log(f"{name}: " + ", ".join(f"cv {k} {v:.3f}" for k, v in ev.cv.items()))
            trained.append(ev)
        active = training.choose_active(con)
        run.rows_out = len(trained)
        run.message = f"active: {active}" if active else None
    return TrainResult(run.run_id, trained, skipped, active)


def _sweep(con, artifacts: Path) -> None:
    """Remove what an earlier run left half done: temporary files, and weights it saved but never
    registered (it died between the two). This job holds the database's write lock, so no other
    train job is writing here."""
    if not artifacts.is_dir():
        return
    known = {Path(a).name for (a,) in con.execute("select artifact from models").fetchall()}
    for f in artifacts.iterdir():
        if f.is_file() and (f.suffix == ".tmp" or (f.suffix == ".pt" and f.name not in known)):
            f.unlink(missing_ok=True)
