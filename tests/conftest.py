import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ws_core import db as wsdb
from ws_core.config import REPO_ROOT, SAMPLE_DIR

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# The word gloss reads Debian's English-Russian dictionary where it is installed: the suite glosses
# the same on every machine without it, and the tests of the dictionary name their own.
os.environ["WS_EN_RU_DICTIONARY"] = "none"


@pytest.fixture(autouse=True)
def ws_db(tmp_path, monkeypatch) -> Path:
    """Every test gets its own database through WS_DB, as users configure it."""
    path = tmp_path / "ws.duckdb"
    monkeypatch.setenv("WS_DB", str(path))
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sample(tmp_path) -> Path:
    """A private copy of data/sample that a test may damage."""
    dest = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, dest)
    return dest


@pytest.fixture
def con(ws_db):
    c = wsdb.connect(ws_db)
    yield c
    c.close()


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "with-sense").is_dir():
        pytest.skip(f"full data not found at {SHARED_DATA} (it sits beside the repo as ../shared/data)")
    return SHARED_DATA


def table(con, sql, params=()):
    return con.execute(sql, list(params)).fetchall()


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The nightly chain run once on the shipped sample with the real encoders."""
    from jobs.nightly import STAGES, run_nightly
    db = tmp_path_factory.mktemp("nightly") / "ws.duckdb"
    result = run_nightly(db, [SAMPLE_DIR], folds=3, log=lambda m: None)
    assert [s for s, _ in result.stages] == list(STAGES)
    return db


@pytest.fixture
def db(built, tmp_path, monkeypatch) -> Path:
    """A private copy of the built database (its model files stay where they are)."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(built, copy)
    monkeypatch.setenv("WS_DB", str(copy))
    return copy
