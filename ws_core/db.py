"""DuckDB access: writable connections for jobs (migrated, views rebuilt), read-only ones for analysts."""
import re
from contextlib import contextmanager
from pathlib import Path

import duckdb
import sqlalchemy as sa

from .config import SCHEMA_DIR, SQL_DIR
from .errors import WsError

# Views are built layer by layer: reporting may read training, training may read staging.
VIEW_LAYERS = ("staging", "training", "reporting")
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise WsError(f"No database at {path}: run `ws ingest` first (or point --db / WS_DB at one).")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WsError(locked_message(path)) from exc
        raise WsError(f"Cannot open database {path}: {exc}") from exc


def locked_message(path: Path) -> str:
    # DuckDB: one writing process, and no readers beside it (not even read-only ones)
    return (f"Database {path} is in use by another process, which holds its write lock; "
            "wait for it to finish and try again.")


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A writable connection with every migration applied and every view rebuilt."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only=False)
    try:
        migrate(con)
        build_views(con)
    except BaseException:
        con.close()
        raise
    return con


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    return _open(path, read_only=True)


def analyst_url(path: Path) -> str:
    """SQLAlchemy URL analysts use; pair it with connect_args={"read_only": True} (see analyst_engine)."""
    return f"duckdb:///{path.resolve()}"


def analyst_engine(path: Path) -> sa.Engine:
    if not path.exists():
        raise WsError(f"No database at {path}: run `ws ingest` first (or point --db / WS_DB at one).")
    return sa.create_engine(analyst_url(path), connect_args={"read_only": True})


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
            con.execute(
                "insert into schema_migrations values (?, ?, current_timestamp)", [version, f.name]
            )
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
