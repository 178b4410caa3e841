"""Where things are: the one place that resolves the database path and the repo's SQL folders."""
import os
from pathlib import Path

DEFAULT_DB = "ws.duckdb"
REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = REPO_ROOT / "schema"
SQL_DIR = REPO_ROOT / "sql"
SAMPLE_DIR = REPO_ROOT / "data" / "sample"


def resolve_db(db: str | os.PathLike | None = None) -> Path:
    """--db wins, then WS_DB, then ./ws.duckdb."""
    return Path(db or os.environ.get("WS_DB") or DEFAULT_DB)


def artifacts_dir(db: Path) -> Path:
    """Model weights live beside the database: ws.duckdb -> ws.artifacts/."""
    return db.with_suffix(".artifacts")
