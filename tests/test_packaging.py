"""The built wheel works on its own: schema and SQL travel inside it, and the sample nightly runs with
the wheel's code, not the repository's."""
import os
import shutil
import subprocess
import sys

import duckdb

from ws_core.config import REPO_ROOT, SAMPLE_DIR


def test_the_wheel_carries_schema_and_sql_and_runs_the_sample_nightly(tmp_path):
    build = tmp_path / "build"
    shutil.copytree(REPO_ROOT, build, ignore=shutil.ignore_patterns(
        ".venv", ".git", "*.duckdb*", "*.artifacts", "__pycache__", "*.egg-info", "build", "data", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", ".",
                    "-w", str(tmp_path / "dist")], cwd=build, check=True, capture_output=True)
    wheel, = (tmp_path / "dist").glob("with_sense-*.whl")
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    assert sorted(p.name for p in (site / "ws_core" / "schema").glob("*.sql")) == \
        sorted(p.name for p in (REPO_ROOT / "schema").glob("*.sql"))
    def sql_files(root):
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.sql"))
    assert sql_files(site / "ws_core" / "sql") == sql_files(REPO_ROOT / "sql")

    db = tmp_path / "ws.duckdb"
    run = tmp_path / "run"
    run.mkdir()
    # the installed copy first on the path, run from outside the repository
    script = ("import sys, ws_core, jobs; "
              f"assert ws_core.__file__.startswith({str(site)!r}), ws_core.__file__; "
              "from ws_core.cli import main; sys.argv = ['ws'] + sys.argv[1:]; main()")
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", script, "nightly", "--data", str(SAMPLE_DIR), "--folds", "2",
                          "--db", str(db)], cwd=run, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    con = duckdb.connect(str(db), read_only=True)
    try:
        views = {v for (v,) in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
        n_scores, = con.execute("select count(*) from scores").fetchone()
        n_migrations, = con.execute("select count(*) from schema_migrations").fetchone()
    finally:
        con.close()
    assert n_migrations == len(list((REPO_ROOT / "schema").glob("*.sql")))
    assert {p.stem for p in (REPO_ROOT / "sql").rglob("*.sql")} <= views
    assert n_scores > 0
