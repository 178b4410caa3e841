"""Operations: ws doctor, read-only analysts, what readers see while a job writes, and the kill test."""
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from jobs.ingest import run_ingest
from ws_core import db as wsdb
from ws_core.cli import main


def lines(output: str) -> dict[str, str]:
    """'status  what  detail' lines -> {what: status}."""
    out = {}
    for ln in output.splitlines():
        parts = ln.split(None, 1)
        if len(parts) == 2 and parts[0] in ("ok", "FIX", "note"):
            out[parts[1].split("  ")[0].strip()] = parts[0]
    return out


def test_doctor_on_a_healthy_database(runner, con, sample):
    run_ingest(con, [sample])
    con.close()
    out = runner.invoke(main, ["doctor", "--data", str(sample)])
    assert out.exit_code == 0, out.output
    checks = lines(out.output)
    assert checks["schema version"] == "ok" and checks["photo files"] == "ok"
    assert checks["text encoder weights"] == "ok" and checks["EfficientNet-Lite2 weights"] == "ok"
    assert checks["torch"] == "ok" and checks["duckdb"] == "ok"
    assert checks[f"data {sample}"] == "ok"
    assert checks["active model"] == "note"             # nothing trained yet: not an error
    assert checks["English-Russian dictionary"] == "note"       # optional (the suite runs without it)
    assert out.output.endswith("everything needed is in place\n")


def test_doctor_says_what_to_fix(runner, con, sample, tmp_path):
    run_ingest(con, [sample])
    con.execute("update photos set path = '/gone/' || image where image = (select min(image) from photos)")
    con.execute("insert into schema_migrations values (99, '099_future.sql', now())")
    con.close()
    out = runner.invoke(main, ["doctor", "--data", str(tmp_path / "nowhere")])
    assert out.exit_code == 1
    known = wsdb.migrations()[-1][0]  # the newest migration this code ships
    assert "FIX   schema version" in out.output and f"99 of {known}: written by a newer version of this code" in out.output
    assert "1 of 74 unreadable" in out.output and "re-ingest from where they live now" in out.output
    assert f"data {tmp_path / 'nowhere'}" in out.output and "not a readable folder" in out.output
    assert "Error: 3 problems to fix (lines marked FIX)" in out.output


def test_doctor_names_a_dictionary_setting_that_points_nowhere(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("WS_EN_RU_DICTIONARY", str(tmp_path / "nowhere.index"))
    out = runner.invoke(main, ["doctor"])
    assert out.exit_code == 1
    assert lines(out.output)["English-Russian dictionary"] == "FIX"
    assert (f"WS_EN_RU_DICTIONARY names {tmp_path / 'nowhere.index'}, which is not a dictd index with its "
            ".dict.dz (or .dict) beside it") in out.output


def test_doctor_without_a_database(runner):
    out = runner.invoke(main, ["doctor"])
    assert "note  database" in out.output and "does not exist yet" in out.output


def test_analysts_sqlalchemy_engine_is_read_only(con, ws_db):
    con.close()
    engine = wsdb.analyst_engine(ws_db)
    with engine.connect() as c:
        assert c.execute(sa.text("select count(*) from photos")).scalar() == 0
        with pytest.raises(sa.exc.DBAPIError, match="read-only"):
            c.execute(sa.text("delete from photos"))
    engine.dispose()


def test_readers_while_a_job_writes_get_a_clear_message(runner, con, ws_db):
    """DuckDB allows one writing process and no readers beside it: say so, don't hang or crash."""
    con.close()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        c = duckdb.connect({str(ws_db)!r})
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for args in (["sql", "select 1"], ["search", "a dog"], ["status"]):
            out = runner.invoke(main, args)
            assert out.exit_code == 1
            assert f"Error: Database {ws_db} is in use by another process (pid {holder.pid}), which holds " \
                   "its write lock; wait for it to finish and try again." in out.output
    finally:
        holder.kill()
        holder.wait()


def test_kill_test_reduced(capsys):
    """The kill script, reduced for CI: one trial each of ingest, embed and nightly (the nightly runs
    train, policy and score too). The README reports the full 20-trial run over all five jobs."""
    from tests.tools.kill_jobs import main as kill_main
    assert kill_main(["--trials", "3", "--seed", "1", "--jobs", "ingest,embed,nightly"]) == 0
    out = capsys.readouterr().out
    assert "3 trials" in out and "0 with differences" in out


def test_the_nightly_runs_through_tables_that_grew_a_column(tmp_path):
    """Writers name their columns, so a column added to every table (tables grow by added columns,
    schema/001_init.sql) breaks none of them."""
    from jobs.nightly import STAGES, run_nightly
    from ws_core.config import SAMPLE_DIR
    db = tmp_path / "grown.duckdb"
    con = wsdb.connect(db)
    tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'main' "
                                        "order by all").fetchall()]
    for t in tables:
        con.execute(f'alter table "{t}" add column added_later varchar')
    con.close()
    result = run_nightly(db, [SAMPLE_DIR], folds=2, log=lambda m: None)
    assert [s for s, _ in result.stages] == list(STAGES)
    con = wsdb.connect(db)
    for t in ("photos", "texts", "image_embeddings", "text_embeddings", "models", "model_oof", "scores",
              "policy_flags", "text_maps", "job_runs"):
        (n, filled), = con.execute(f'select count(*), count(added_later) from "{t}"').fetchall()
        assert n > 0 and filled == 0, t
    con.close()
    assert len(tables) >= 25
