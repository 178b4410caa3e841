"""Where things are: the one place that resolves the database path and the repo's SQL folders."""
import os
from pathlib import Path

DEFAULT_DB = "ws.duckdb"
# Calibrated scores estimate the judges' mean on 0..1, where the expert scale puts "has elements of
# the photo but does not match" at 1/3 and "matches up to some details" at 2/3: below the midpoint a
# pair is more likely judged a miss than a match. Shown, but marked weak ("no photo matches this well").
WEAK_BELOW = 0.5
REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    """An installed wheel carries schema/ and sql/ inside the package; a source tree has them at the top."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else REPO_ROOT / name


SCHEMA_DIR = _shipped("schema")
SQL_DIR = _shipped("sql")
SAMPLE_DIR = REPO_ROOT / "data" / "sample"


def resolve_db(db: str | os.PathLike | None = None) -> Path:
    """--db wins, then WS_DB, then ./ws.duckdb."""
    return Path(db or os.environ.get("WS_DB") or DEFAULT_DB)


def artifacts_dir(db: Path) -> Path:
    """Model weights live beside the database: ws.duckdb -> ws.artifacts/."""
    return db.with_suffix(".artifacts")


def cache_dir() -> Path:
    """Exported encoder graphs: $WS_CACHE, else ~/.cache/with-sense."""
    return Path(os.environ.get("WS_CACHE") or Path.home() / ".cache" / "with-sense")
