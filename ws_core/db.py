"""DuckDB access: writable connections for jobs (migrated, views rebuilt), read-only ones for analysts.

duckdb itself is imported where a connection is opened, so the command line starts without it."""
from __future__ import annotations

import fcntl
import os
import re
import struct
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .config import SCHEMA_DIR, SQL_DIR
from .errors import WsError
from .jobrun import utc_now

if TYPE_CHECKING:
    import duckdb

# Views are built layer by layer: reporting may read training, training may read staging.
VIEW_LAYERS = ("staging", "training", "reporting")
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# Readers (analysts, search, status, report) get DuckDB's own sandbox rather than a SQL parser that
# could be outwitted: no file read or written outside the database (COPY, ATTACH, read_csv, glob,
# EXPORT), no extension installed or loaded, and no setting changed afterwards (the lock is last).
READER_CONFIG = {
    "enable_external_access": "false",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "lock_configuration": "true",
}


def _open(path: Path, read_only: bool, published_size: int | None = None) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise WsError(f"No database at {path}: run `ws ingest` first (or point --db / WS_DB at one).")
    import duckdb
    if not read_only:
        _check_writable(path)
    try:
        if read_only:
            con = duckdb.connect(str(path), read_only=True, config=dict(READER_CONFIG))
        else:
            con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WsError(locked_message(path)) from exc
        raise WsError(damaged_message(path, exc)) from exc
    except (duckdb.InternalException, duckdb.SerializationException, duckdb.FatalException) as exc:
        raise WsError(damaged_message(path, exc)) from exc
    try:
        # a snapshot as long as when it was published is that copy, whole: 30 ms of a cold search saved
        if published_size is None or path.stat().st_size != published_size:
            check_intact(con, path)
    except BaseException:
        con.close()
        raise
    return con


def _check_writable(path: Path) -> None:
    """Jobs write the file, its WAL beside it and the lock file: say so before DuckDB fails deep inside."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WsError(f"Cannot create the database folder {folder}: {exc.strerror}; "
                      "point --db / WS_DB at a writable place.") from None
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise WsError(f"Database {path} is on a read-only path: jobs need to write it and its WAL "
                      f"in {folder}; point --db / WS_DB at a writable place or fix the permissions.")


def damaged_message(path: Path, exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:200]
    return (f"Database {path} is damaged ({detail}); restore it from a backup, or move it aside and "
            "rebuild it with `ws nightly --data DIR`.")


def check_intact(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """DuckDB reads blocks lazily, so a truncated file opens and answers some queries before failing.
    Every table's stored segments name their blocks: a block beyond the end of the file means the file
    was cut. (The header's block count is no measure: DuckDB trims free blocks off the end.) About
    30 ms on the full data."""
    import duckdb
    try:
        block_size = con.execute("select block_size from pragma_database_size() "
                                 "where database_name = current_database()").fetchone()[0]
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() "
                                            "where database_name = current_database() and not temporary").fetchall()]
        last = max((con.execute("select max(block_id) from pragma_storage_info(?) where persistent",
                                [t]).fetchone()[0] or -1 for t in tables), default=-1)
    except duckdb.Error as exc:
        raise WsError(damaged_message(path, exc)) from None
    if not path.exists():
        return
    on_disk = (path.stat().st_size - 3 * 4096) // block_size      # three 4 KiB headers, then blocks
    if last >= on_disk:
        raise WsError(damaged_message(
            path, f"its tables use block {last} but the file holds {on_disk} blocks of {block_size} bytes"))


def locked_message(path: Path) -> str:
    holder = lock_holder(path)
    if holder and holder[0] == "reader":
        return (f"Database {path} is open by a reader (pid {holder[1]}: `ws sql`, `ws search`, `ws status` "
                "or an analyst's connection), and DuckDB lets no process write while one reads; close "
                "it, or pass --wait SECONDS to `ws nightly`.")
    who = f" (pid {holder[1]})" if holder else ""
    return (f"Database {path} is in use by another process{who}, which holds its write lock; "
            "wait for it to finish and try again.")


def lock_holder(path: Path) -> tuple[str, int] | None:
    """('reader' | 'writer', pid) of a process holding DuckDB's lock on the file, if any: DuckDB takes a
    shared fcntl lock for read-only connections and an exclusive one for writers."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        # struct flock {short l_type; short l_whence; off_t l_start; off_t l_len; pid_t l_pid;}
        query = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        reply = fcntl.fcntl(fd, fcntl.F_GETLK, query + b"\0" * 4)
        l_type, _, _, _, pid = struct.unpack("hhqqi", reply[:struct.calcsize("hhqqi")])
    except OSError:
        return None
    finally:
        os.close(fd)
    if l_type == fcntl.F_UNLCK:
        return None
    return ("reader" if l_type == fcntl.F_RDLCK else "writer", pid)


def connect(path: Path, wait: float = 0.0) -> duckdb.DuckDBPyConnection:
    """A writable connection with every migration applied and every view rebuilt. While another process
    holds the file (a reader counts: DuckDB lets no one write beside it), retry for `wait` seconds."""
    deadline = time.monotonic() + wait
    holder_left = False
    while True:
        try:
            con = _open(path, read_only=False)
            break
        except WsError:
            if time.monotonic() >= deadline:
                raise
            if lock_holder(path) is None:
                # no lock now: either the holder left between the two looks (try once more at once)
                # or the error was not a lock at all
                if holder_left:
                    raise
                holder_left = True
                continue
            time.sleep(0.5)
    try:
        migrate(con)
        build_views(con)
    except BaseException:
        con.close()
        raise
    return con


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    return open_reader(path)[0]


def open_reader(path: Path) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """The latest consistent state without waiting, and the file it is in: the published snapshot, or
    the working database when it is free and newer (ws_core/snapshot.py)."""
    from . import snapshot
    tried = snapshot.candidates(Path(path))
    for i, candidate in enumerate(tried):
        try:
            return _open(candidate, read_only=True, published_size=snapshot.published_size(Path(path), candidate)), candidate
        except WsError:
            if i == len(tried) - 1:
                raise               # a missing or damaged snapshot: the previous one, then the database
    raise AssertionError("unreachable")


def analyst_url(path: Path) -> str:
    """SQLAlchemy URL analysts use: read-only and sandboxed by the URL alone (duckdb-engine passes the
    query string to DuckDB as its config), so a copied URL keeps its protection."""
    query = "&".join(f"{k}={v}" for k, v in {"access_mode": "read_only", **READER_CONFIG}.items())
    return f"duckdb:///{path.resolve()}?{query}"


def analyst_engine(path: Path):
    con, source = open_reader(path)   # a damaged file is reported once, in one line, before SQLAlchemy
    con.close()
    import sqlalchemy as sa
    return sa.create_engine(analyst_url(source))


def refusal(msg: str) -> str | None:
    """One line for what the analysts' sandbox refused, or None for other errors."""
    if "read-only" in msg:
        return f"the analysts' connection is read-only; writes are refused ({msg})"
    if "disabled by configuration" in msg or "disabled through configuration" in msg:
        return ("the analysts' connection reaches nothing outside the database: files, other databases "
                f"and extensions are refused ({msg})")
    if "configuration has been locked" in msg:
        return f"the analysts' connection cannot change settings ({msg})"
    return None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection):
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


@contextmanager
def staged(con: duckdb.DuckDBPyConnection, name: str, frame):
    """Expose a DataFrame to SQL as `name` for the block: bulk values travel as data, never as text."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def migrations() -> list[tuple[int, Path]]:
    found = []
    for f in sorted(SCHEMA_DIR.glob("*.sql")):
        m = _MIGRATION_NAME.match(f.name)
        if not m:
            raise WsError(f"Migration file {f.name} is not named NNN_name.sql")
        found.append((int(m.group(1)), f))
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded, each with its record in one transaction."""
    con.execute(
        "create table if not exists schema_migrations "
        "(version integer primary key, name varchar not null, applied_at timestamp not null)"
    )
    applied = {v for (v,) in con.execute("select version from schema_migrations").fetchall()}
    done = []
    for version, f in migrations():
        if version in applied:
            continue
        with transaction(con):
            con.execute(f.read_text(encoding="utf-8"))
            con.execute("insert into schema_migrations (version, name, applied_at) values (?, ?, ?)",
                        [version, f.name, utc_now()])
        done.append(f.name)
    return done


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(version), 0) from schema_migrations").fetchone()[0]


def view_files() -> list[Path]:
    files = []
    for layer in VIEW_LAYERS:
        for f in sorted((SQL_DIR / layer).glob("*.sql")):
            if not _VIEW_NAME.match(f.stem):
                raise WsError(f"View file {f} must be named <view_name>.sql in lower case")
            files.append(f)
    return files


def build_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create one view per file in sql/, file name = view name, all in one transaction."""
    with transaction(con):
        for f in _dependency_order(view_files()):
            body = f.read_text(encoding="utf-8").strip().rstrip(";")
            # The name is a checked identifier from the repo, not user input.
            con.execute(f"create or replace view {f.stem} as\n{body}")


def _without_comments(f: Path) -> str:
    return re.sub(r"--[^\n]*", "", f.read_text(encoding="utf-8"))


def _dependency_order(files: list[Path]) -> list[Path]:
    """Layer order, except that a view comes after the views its SQL names (within a layer too)."""
    names = {f.stem for f in files}
    needs = {f.stem: {n for n in names - {f.stem}
                      if re.search(rf"\b{n}\b", _without_comments(f))} for f in files}
    done: list[Path] = []
    pending = list(files)
    while pending:
        ready = [f for f in pending if needs[f.stem] <= {d.stem for d in done}]
        if not ready:
            raise WsError(f"Views depend on each other in a cycle: {', '.join(f.stem for f in pending)}")
        done.append(ready[0])
        pending.remove(ready[0])
    return done


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = [t for (t,) in con.execute(
        "select table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_schema = 'main' order by table_name").fetchall()]
    # Names come from the catalogue, not from users.
    return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
