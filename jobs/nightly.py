"""The nightly chain: ingest -> files -> embed -> train -> policy -> pack -> score -> report, each stage a
job_runs row (pack: what `ws search` memory-maps, ws_core/searchpack.py; the catalogue's scores are
read through it).

Every stage skips what has not changed (content hashes, data fingerprints), so a second run with no
new data does no model work. One chain at a time per database: a lock file beside it, held for the
whole chain, makes a second run wait (--wait) or stop with a message naming the holder.
"""
import fcntl
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ws_core import db as wsdb
from ws_core import snapshot
from ws_core.config import artifacts_dir
from ws_core.errors import WsError
from ws_core.jobrun import job_run

# The catalogue view measures what search returns: the two-tower recalls as many photos as search
# does and the model re-ranks them (a right photo not recalled is a miss). Ranking all 7591 photos
# per query took 97 of the nightly's 919 s.
CATALOGUE_CANDIDATES = 1000     # ws_core.search.CANDIDATES, not imported: numpy at `ws nightly --help`
STAGES = ("ingest", "files", "embed", "train", "policy", "pack", "score", "report")


@dataclass
class NightlyResult:
    stages: list[tuple[str, str]] = field(default_factory=list)   # (stage, one-line outcome)
    report: Path | None = None
    snapshot: Path | None = None      # what readers now open (ws_core/snapshot.py)


class StageFailed(WsError):
    def __init__(self, stage: str, exc: BaseException):
        super().__init__(f"nightly stopped: stage '{stage}' failed: {exc}")
        self.stage = stage


@contextmanager
def chain_lock(db: Path, wait: float = 0.0):
    """An exclusive lock on <db>.lock for the chain. fcntl locks die with the process, so a killed
    run never leaves a stale lock behind."""
    path = db.with_name(db.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a+")
    except OSError as exc:
        raise WsError(f"Cannot create the chain's lock file {path} ({exc.strerror}): the database's folder "
                      "must be writable; point --db / WS_DB at a writable place.") from None
    with f:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    f.seek(0)
                    holder = f.read().strip() or "another process"
                    raise WsError(f"Another `ws nightly` is running on {db} ({holder}); it holds {path}. "
                                  "Wait for it, or pass --wait SECONDS to queue behind it.") from None
                time.sleep(0.5)
        f.truncate(0)
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def run_nightly(db: Path, data_dirs: list[Path] = (), descriptions: list[Path] = (), folds: int = 5,
                wait: float = 0.0, report_dir: Path | None = None, log=print, engine: str = "local",
                address: str | None = None) -> NightlyResult:
    """engine "ray": the embed, policy (pixel flags) and score stages run on Ray (ws_core/distributed.py)."""
    from jobs.embed import run_embed
    from jobs.files import run_files
    from jobs.ingest import run_ingest
    from jobs.policy import run_policy
    from jobs.score import run_score
    from jobs.train import run_train
    from ws_core import training
    from ws_core.encoders import DEFAULT_IMAGE_ENCODER, DEFAULT_TEXT_ENCODER
    from ws_core.report import build_report

    result = NightlyResult()
    report_dir = report_dir or artifacts_dir(db) / "report"
    parts = artifacts_dir(db) / "ray-parts"

    def ingest(con):
        if not data_dirs and not descriptions:
            return "no --data or --descriptions given: skipped"
        r = run_ingest(con, list(data_dirs), list(descriptions))
        for w in r.warnings:
            log(f"  warning: {w}")
        return f"{r.rows_out} new or changed rows, {len(r.rejects)} quarantined"

    def files(con):
        return run_files(con).summary()

    def embed(con):
        r = run_embed(con, DEFAULT_IMAGE_ENCODER, DEFAULT_TEXT_ENCODER, engine=engine, parts=parts, address=address)
        return f"{r.photos} photos and {r.texts} texts embedded, {r.failed} failed"

    def train(con):
        r = run_train(con, artifacts_dir(db), list(training.MODELS), folds, log=lambda m: log(f"  {m}"))
        trained = ", ".join(e.name for e in r.trained) or "nothing changed"
        return f"trained: {trained}; active: {r.active}"

    def policy(con):
        r = run_policy(con, DEFAULT_IMAGE_ENCODER, log=lambda m: log(f"  {m}"), engine=engine, parts=parts,
                       address=address)
        if r.run_id is None:
            return "unchanged"
        return "flags: " + (", ".join(f"{n} {s}" for s, n in sorted(r.flags.items())) or "none")

    def score(con):
        # the test photos (the leaderboard's setting) and the whole catalogue (rpt_catalogue_retrieval)
        done = [run_score(con, "test", photos, candidates=CATALOGUE_CANDIDATES, engine=engine, parts=parts,
                          address=address) for photos in ("test", "all")]
        if all(r.skipped for r in done):
            return "unchanged"
        return "; ".join(f"{r.rows} scores of {r.model_id} (test x {s})" for r, s in zip(done, ("test", "all"))
                         if not r.skipped)

    def pack(con):
        from ws_core import searchpack
        with job_run(con, "pack") as run:
            run.message = searchpack.prepare(con, log=lambda m: log(f"  {m}"))
        return run.message

    def report(con):
        with job_run(con, "report") as run:
            result.report = build_report(con, report_dir)
            run.message = str(result.report)
        return str(result.report)

    with chain_lock(db, wait):
        con = wsdb.connect(db, wait=wait)
        try:
            for name, stage in zip(STAGES, (ingest, files, embed, train, policy, pack, score, report)):
                start = time.perf_counter()
                try:
                    outcome = stage(con)
                except Exception as exc:
                    log(f"{name}: FAILED after {time.perf_counter() - start:.1f} s: {exc}")
                    raise StageFailed(name, exc) from exc
                log(f"{name}: {outcome} ({time.perf_counter() - start:.1f} s)")
                result.stages.append((name, outcome))
            start = time.perf_counter()
            result.snapshot = snapshot.publish(con, db, "nightly")
            log(f"publish: {result.snapshot.name} for readers ({time.perf_counter() - start:.1f} s)")
        finally:
            con.close()
    return result
