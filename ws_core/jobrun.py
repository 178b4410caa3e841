"""job_runs bookkeeping: every batch job records when it ran, what it read and wrote, and how it ended."""
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb


@dataclass
class JobRun:
    run_id: str
    job: str
    rows_in: int = 0
    rows_out: int = 0
    message: str | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_run_id(job: str) -> str:
    return f"{_now():%Y%m%dT%H%M%S}-{job}-{secrets.token_hex(3)}"


@contextmanager
def job_run(con: duckdb.DuckDBPyConnection, job: str):
    """Record a run around the body. The body does its writes in its own transaction; if it raises,
    that transaction is rolled back and the run is marked failed with the error text."""
    # DuckDB lets one process write a file at a time, so a 'running' row we can see was killed.
    con.execute(
        "update job_runs set status = 'interrupted', message = 'process ended before the run finished' "
        "where status = 'running'"
    )
    run = JobRun(new_run_id(job), job)
    con.execute(
        "insert into job_runs (run_id, job, started_at, status) values (?, ?, ?, 'running')",
        [run.run_id, job, _now()],
    )
    try:
        yield run
    except BaseException as exc:
        _finish(con, run, "failed", f"{type(exc).__name__}: {exc}")
        raise
    _finish(con, run, "ok", run.message)


def _finish(con, run: JobRun, status: str, message: str | None) -> None:
    con.execute(
        "update job_runs set finished_at = ?, status = ?, rows_in = ?, rows_out = ?, message = ? "
        "where run_id = ?",
        [_now(), status, run.rows_in, run.rows_out, message, run.run_id],
    )
