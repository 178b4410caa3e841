"""job_runs bookkeeping: every batch job records when it ran, what it read and wrote, and how it ended.

A failure is recorded twice: in job_runs, and in a log file beside the database
(<db>.logs/<run_id>.log, cause on the first line, then the traceback). The file's first block is
reserved when the run starts, so the cause can still be written when the failure is a full disk that
also stops DuckDB from recording it; the next job then reads the cause back into job_runs instead of
calling the run merely 'interrupted'.
"""
from __future__ import annotations

import os
import secrets
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:       # the command line starts without duckdb
    import duckdb

RESERVED = 4096        # bytes set aside for a failure's first line


@dataclass
class JobRun:
    run_id: str
    job: str
    rows_in: int = 0
    rows_out: int = 0
    message: str | None = None


def utc_now() -> datetime:
    """The one clock: naive UTC timestamps everywhere (DuckDB's now() is the session's local time)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)



def new_run_id(job: str) -> str:
    return f"{utc_now():%Y%m%dT%H%M%S}-{job}-{secrets.token_hex(3)}"


def logs_dir(con: duckdb.DuckDBPyConnection) -> Path | None:
    """<db>.logs beside the database file; None for an in-memory database."""
    row = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    if not row or not row[0]:
        return None
    db = Path(row[0])
    return db.with_name(db.stem + ".logs")


def _reserve(path: Path | None) -> int | None:
    """Create the run's log file with its first block allocated; None if that is not possible."""
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError:
        return None
    try:
        os.posix_fallocate(fd, 0, RESERVED)
    except OSError:
        pass
    return fd


def _write_failure(fd: int | None, cause: str, exc: BaseException) -> None:
    if fd is None:
        return
    head = (cause.replace("\n", " ")[:RESERVED - 2] + "\n").encode("utf-8", "replace")[:RESERVED - 1]
    try:
        os.pwrite(fd, head.ljust(RESERVED - 1, b" ") + b"\n", 0)     # fits the reserved block
        os.pwrite(fd, "".join(traceback.format_exception(exc)).encode("utf-8", "replace"), RESERVED)
    except OSError:
        pass
    try:
        os.fsync(fd)
    except OSError:
        pass


def read_cause(log: Path) -> str | None:
    """The first line of a run's log file, or None when it holds none (the run did not fail there)."""
    try:
        with open(log, "rb") as f:
            head = f.read(RESERVED).split(b"\n", 1)[0].strip(b" \0")
    except OSError:
        return None
    return head.decode("utf-8", "replace") or None


def settle_unfinished(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB lets one process write a file at a time, so a 'running' row we can see belongs to a run
    that ended without recording it: failed, if its log file says why, else interrupted (killed)."""
    rows = con.execute("select run_id from job_runs where status = 'running'").fetchall()
    logs = logs_dir(con)
    for (run_id,) in rows:
        log = logs / f"{run_id}.log" if logs else None
        cause = read_cause(log) if log else None
        if cause:
            con.execute("update job_runs set status = 'failed', message = ?, log_path = ? where run_id = ?",
                        [cause, str(log), run_id])
        else:
            if log:
                log.unlink(missing_ok=True)
            con.execute("update job_runs set status = 'interrupted', "
                        "message = 'process ended before the run finished' where run_id = ?", [run_id])


@contextmanager
def job_run(con: duckdb.DuckDBPyConnection, job: str):
    """Record a run around the body. The body does its writes in its own transaction; if it raises,
    that transaction is rolled back and the run is marked failed with the error text."""
    settle_unfinished(con)
    run = JobRun(new_run_id(job), job)
    logs = logs_dir(con)
    log = logs / f"{run.run_id}.log" if logs else None
    fd = _reserve(log)
    con.execute(
        "insert into job_runs (run_id, job, started_at, status) values (?, ?, ?, 'running')",
        [run.run_id, job, utc_now()],
    )
    try:
        try:
            yield run
        except BaseException as exc:
            cause = f"{type(exc).__name__}: {exc}"
            _write_failure(fd, cause, exc)
            try:
                _finish(con, run, "failed", cause, str(log) if fd is not None else None)
            except Exception:
                pass    # e.g. the disk is full: the log file keeps the cause for the next job
            raise
        _finish(con, run, "ok", run.message)
        if log is not None:
            log.unlink(missing_ok=True)
    finally:
        if fd is not None:
            os.close(fd)


def _finish(con, run: JobRun, status: str, message: str | None, log_path: str | None = None) -> None:
    con.execute(
        "update job_runs set finished_at = ?, status = ?, rows_in = ?, rows_out = ?, message = ?, "
        "log_path = ? where run_id = ?",
        [utc_now(), status, run.rows_in, run.rows_out, message, log_path, run.run_id],
    )
