"""Published read-only snapshots: readers never wait for a job, and jobs never wait for readers.

DuckDB lets no other process open a file while one writes it. So after every successful job command
and nightly, the writer checkpoints the working database (everything in the main file, the WAL
empty), copies it under a temporary name in `<db>.snapshots/`, flushes it to disk and renames it into
place; then `latest.json` (which snapshot, of which run, how old, the working file's size and time at
that moment) and the symlink `latest.duckdb` (the analysts' stable path) move to it, each by one
rename. A reader sees the previous snapshot or the new one, never a mix; a failed job publishes
nothing; a reader keeps the file it opened even after a newer one replaces it (old ones are deleted
only when no process holds them, and the previous one is always kept).

Which file a reader opens (`reader_path`): the latest snapshot when it is the working database's
current state (nothing written since) or when a writer holds the working database; else the working
database itself, which is then free and newer (a job run from Python, a direct write). A snapshot
that is missing or damaged falls back to the previous one, then to the working database.
"""
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

from .errors import WsError
from .jobrun import utc_now

LATEST_JSON, LATEST_LINK = "latest.json", "latest.duckdb"


def folder(db: Path) -> Path:
    return db.with_name(db.name + ".snapshots")


def latest(db: Path) -> dict | None:
    """The published pointer, or None (never published, or unreadable)."""
    try:
        return json.loads((folder(db) / LATEST_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def publish(con, db: Path, label: str) -> Path:
    """Publish the working database, which `con` holds for writing, as the latest snapshot."""
    con.execute("checkpoint")
    last = con.execute("select run_id from job_runs order by started_at desc limit 1").fetchone()
    d = folder(db)
    now = utc_now()
    name = f"{now:%Y%m%dT%H%M%S%f}-{label}.duckdb"
    tmp = d / f".{name}.tmp"
    try:
        d.mkdir(exist_ok=True)
        with open(db, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 16 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, d / name)
        st = db.stat()
        before = latest(db) or {}
        _replace_text(d / LATEST_JSON, json.dumps({
            "file": name, "previous": before.get("file"), "label": label, "run_id": last[0] if last else None,
            "published_at": now.isoformat(),
            "source_size": st.st_size, "source_mtime_ns": st.st_mtime_ns}))
        link = d / f".{LATEST_LINK}.tmp{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(name)
        os.replace(link, d / LATEST_LINK)
        _fsync_dir(d)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WsError(f"Publishing a snapshot of {db} failed ({exc.strerror or exc}); readers keep the "
                      "previous one. The job's results are in the working database.") from None
    prune(db)
    return d / name


def prune(db: Path) -> list[str]:
    """Delete snapshots older than the previous one that no process holds open."""
    from .db import lock_holder
    ptr = latest(db) or {}
    keep = {ptr.get("file"), ptr.get("previous")}
    gone = []
    for f in folder(db).glob("*.duckdb"):
        if f.is_symlink() or f.name in keep or lock_holder(f) is not None:
            continue
        f.unlink(missing_ok=True)
        gone.append(f.name)
    return gone


def candidates(db: Path) -> list[Path]:
    """The files a reader tries, in order (see the module's docstring)."""
    from .db import lock_holder
    ptr = latest(db)
    if ptr is None:
        return [db]
    snaps = [folder(db) / n for n in (ptr.get("file"), ptr.get("previous")) if n]
    try:
        st = db.stat()
        current = (st.st_size, st.st_mtime_ns) == (ptr.get("source_size"), ptr.get("source_mtime_ns"))
    except OSError:
        current = False
    holder = lock_holder(db)
    if current or (holder is not None and holder[0] == "writer") or not db.exists():
        return [*snaps, db]
    return [db]


def published_size(db: Path, snap: Path) -> int | None:
    """The size the latest snapshot had when published (None for any other file)."""
    ptr = latest(db)
    return ptr.get("source_size") if ptr and snap != db and snap.name == ptr.get("file") else None


def describe(db: Path, opened: Path) -> str:
    """What a reader holds: the working database, or which snapshot and how old it is."""
    ptr = latest(db)
    if opened == db or ptr is None:
        return "the working database"
    if opened.name != ptr.get("file"):
        return f"the previous snapshot {opened.name} (the latest could not be opened)"
    age = utc_now() - datetime.fromisoformat(ptr["published_at"])
    run = f", last job run {ptr['run_id']}" if ptr.get("run_id") else ""
    return (f"the snapshot published after `{ptr['label']}` at {ptr['published_at'][:19]} UTC "
            f"({int(age.total_seconds() // 60)} min ago{run})")
