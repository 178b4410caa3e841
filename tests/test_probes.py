"""Red-team probes (issue 13), each turned into a test: a hostile analyst, a damaged or read-only
database, a full disk, a photo deleted after ingest, an idle reader, and careless vocabulary edits.
(The children check's character tricks are in tests/test_policy.py: PROBES and the hypothesis tests.)"""
import dataclasses
import errno
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobs.files import run_files
from jobs.ingest import run_ingest
from jobs.nightly import run_nightly
from ws_core import db as wsdb
from ws_core import jobrun
from ws_core.cli import main
from ws_core.config import SAMPLE_DIR
from ws_core.scorers import save_scorer
from ws_core.scorers.base import Scorer
from ws_core.search import Searcher
from tests.conftest import table

# What an analyst tried: write files, attach and fill a database, read the machine's files, extensions,
# settings. Each must be refused by DuckDB's sandbox.
HOSTILE = [
    ("copy (select 1 as a) to '{tmp}/evil.pth'", "reaches nothing outside the database"),
    ("attach '{tmp}/new.duckdb' as n (read_write)", "reaches nothing outside the database"),
    ("select * from read_text('/etc/passwd')", "reaches nothing outside the database"),
    ("select * from read_csv('/etc/hostname')", "reaches nothing outside the database"),
    ("select * from glob('/*')", "reaches nothing outside the database"),
    ("select * from read_parquet('{tmp}/x.parquet')", "reaches nothing outside the database"),
    ("export database '{tmp}/dump'", "reaches nothing outside the database"),
    ("install httpfs", "reaches nothing outside the database"),
    ("load httpfs", "reaches nothing outside the database"),
    ("set enable_external_access = true", "cannot change settings"),
    ("set threads = 1", "cannot change settings"),
    ("create table t (a int)", "is read-only"),
]


@pytest.fixture
def ingested(con, sample, ws_db):
    run_ingest(con, [sample])
    con.close()
    return ws_db


@pytest.mark.parametrize("sql,refusal", HOSTILE, ids=[h[0].split()[0] + "-" + h[0].split()[-1][:12] for h in HOSTILE])
def test_ws_sql_refuses_to_leave_the_database(runner, ingested, tmp_path, sql, refusal):
    out = runner.invoke(main, ["sql", sql.format(tmp=tmp_path)])
    assert out.exit_code == 1
    assert out.stderr.startswith(f"Error: the analysts' connection {refusal}")
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.output
    assert not [p for p in tmp_path.iterdir() if p.name in ("evil.pth", "new.duckdb", "dump")]


@pytest.mark.parametrize("sql", [h[0] for h in HOSTILE])
def test_the_readme_sqlalchemy_url_is_sandboxed(ingested, tmp_path, sql):
    """The URL alone carries the switches: an analyst who copies it gets the same protection."""
    engine = sa.create_engine(wsdb.analyst_url(ingested))
    try:
        with engine.connect() as c:
            assert c.execute(sa.text("select count(*) from photos")).scalar() == 74
            with pytest.raises(sa.exc.DBAPIError) as err:
                c.execute(sa.text(sql.format(tmp=tmp_path)))
            assert wsdb.refusal(str(err.value.orig)) is not None
    finally:
        engine.dispose()
    assert not (tmp_path / "evil.pth").exists() and not (tmp_path / "new.duckdb").exists()


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


@pytest.mark.parametrize("args", [["status"], ["search", "a dog"], ["nightly"], ["sql", "select 1"],
                                  ["report"], ["models"], ["score"], ["policy", "flags"]])
def test_a_truncated_database_is_reported_in_one_line(runner, db, args):
    _truncate(db)
    out = runner.invoke(main, args)
    assert out.exit_code == 1, out.output
    assert out.stderr.startswith(f"Error: Database {db} is damaged (")
    assert "restore it from a backup" in out.stderr and out.stderr.count("\n") == 1
    assert "Traceback" not in out.output


def test_doctor_never_calls_a_damaged_file_healthy(runner, db):
    _truncate(db)
    out = runner.invoke(main, ["doctor"])
    assert out.exit_code == 1
    assert "FIX   database" in out.output and "is damaged" in out.output
    assert "schema version" not in out.output


@pytest.fixture
def read_only_folder(tmp_path, db):
    """The built database on a read-only bind mount (root ignores file modes, not a read-only mount)."""
    src, mnt = tmp_path / "src", tmp_path / "ro"
    src.mkdir(), mnt.mkdir()
    shutil.copy(db, src / "ws.duckdb")
    ok = subprocess.run(["mount", "--bind", str(src), str(mnt)], capture_output=True).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mnt)], capture_output=True).returncode == 0
    if not ok:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        pytest.skip("cannot make a read-only mount here (needs root)")
    yield mnt / "ws.duckdb"
    subprocess.run(["umount", str(mnt)], check=True)


def test_a_database_on_a_read_only_path(runner, read_only_folder):
    db = read_only_folder
    out = runner.invoke(main, ["nightly", "--db", str(db)])
    assert out.exit_code == 1 and out.stderr.count("\n") == 1, out.output
    assert out.stderr.startswith(f"Error: Cannot create the chain's lock file {db}.lock (Read-only file system)")
    out = runner.invoke(main, ["report", "--db", str(db)])
    assert out.exit_code == 1 and out.stderr.count("\n") == 1, out.output
    assert out.stderr.startswith(f"Error: cannot write the report to {db.with_suffix('.artifacts')}/report "
                                 "(Read-only file system); pass --out")
    out = runner.invoke(main, ["ingest", "--db", str(db), "--data", "nowhere"])
    assert out.exit_code == 1 and f"Database {db} is on a read-only path" in out.stderr
    # readers still work
    assert runner.invoke(main, ["status", "--db", str(db)]).exit_code == 0


def test_a_failed_runs_cause_survives_when_the_database_cannot_record_it(con, ws_db, monkeypatch):
    """A full disk can stop DuckDB from writing the failure too; the run's log file, whose first block
    was reserved at the start, keeps the cause, and the next job records it."""
    def cannot_write(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(jobrun, "_finish", cannot_write)
    with pytest.raises(OSError, match="No space left"):
        with jobrun.job_run(con, "train"):
            raise OSError(errno.ENOSPC, "No space left on device", "/data/ws.artifacts/two_tower.tmp")
    monkeypatch.undo()
    run_id, status = table(con, "select run_id, status from job_runs")[0]
    assert status == "running"                       # what the database saw
    with jobrun.job_run(con, "ingest"):
        pass
    log = ws_db.with_name("ws.logs") / f"{run_id}.log"
    cause = "OSError: [Errno 28] No space left on device: '/data/ws.artifacts/two_tower.tmp'"
    assert table(con, "select status, message, log_path from job_runs where run_id = ?", [run_id]) == [
        ("failed", cause, str(log))]
    text = log.read_text()
    assert text.startswith(cause) and "Traceback (most recent call last)" in text
    # a run that ends well leaves no log behind
    assert sorted(p.name for p in log.parent.iterdir()) == [log.name]


def test_a_killed_run_with_an_empty_reserved_log_is_interrupted(con, ws_db):
    con.execute("insert into job_runs (run_id, job, started_at, status) values ('old', 'train', now(), 'running')")
    logs = ws_db.with_name("ws.logs")
    logs.mkdir()
    (logs / "old.log").write_bytes(b"\0" * 4096)      # reserved, never written: killed
    with jobrun.job_run(con, "ingest"):
        pass
    assert table(con, "select status from job_runs where run_id = 'old'") == [("interrupted",)]
    assert not (logs / "old.log").exists()


@dataclasses.dataclass
class TinyParams:
    width: int = 1


class Tiny(Scorer):
    kind = "tiny"
    Params = TinyParams


def test_no_temporary_artifact_outlives_a_full_disk(tmp_path, monkeypatch):
    target = tmp_path / "two_tower-run.pt"

    def full(self, data):
        self.open("wb").write(data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError):
        save_scorer(Tiny(), target)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_the_next_train_sweeps_what_a_dead_run_left(db, monkeypatch):
    from jobs.train import _sweep
    artifacts = tmp = db.with_suffix(".artifacts")
    tmp.mkdir()
    (artifacts / "two_tower-x.tmp").write_bytes(b"half")
    (artifacts / "pair_mlp-never-registered.pt").write_bytes(b"weights")
    con = wsdb.connect(db)
    registered = Path(table(con, "select artifact from models limit 1")[0][0])
    shutil.copy(registered, artifacts / registered.name)
    _sweep(con, artifacts)
    con.close()
    assert [p.name for p in artifacts.iterdir()] == [registered.name]


@pytest.fixture
def moved_photo(db, tmp_path):
    """One test photo of the built database (shown, and with no child query) moved to a folder this test
    may empty."""
    con = wsdb.connect(db)
    image, path = table(con, "select p.image, p.path from stg_photo_policy s join photos p using (image) "
                             "where s.split = 'test' and not s.flagged and not exists (select 1 from texts t "
                             "join policy_flags f on f.entity_id = t.text_id where t.image = p.image) "
                             "order by p.image limit 1")[0]
    copy = tmp_path / "photos" / image
    copy.parent.mkdir()
    shutil.copy(path, copy)
    con.execute("update photos set path = ? where image = ?", [str(copy), image])
    con.close()
    return image, copy


def test_a_photo_deleted_after_ingest_leaves_search_scores_and_report(db, moved_photo, runner):
    image, copy = moved_photo
    copy.unlink()
    lines = []
    result = run_nightly(db, folds=3, log=lines.append)
    outcome = dict(result.stages)["files"]
    assert outcome == (f"73 of 74 photo files ok; 1 missing (kept out of search, scores and the report, "
                       f"e.g. {image})")
    con = wsdb.connect_read_only(db)
    assert table(con, "select status from photos where image = ?", [image]) == [("missing",)]
    assert table(con, "select count(*) from scores where image = ?", [image]) == [(0,)]
    assert table(con, "select photo_set, count(distinct image) from scores join score_runs using (run_id) "
                      "group by all order by all") == [("all", 73), ("test", 11)]
    assert table(con, "select count(*) from rpt_top_matches where image = ?", [image]) == [(0,)]
    own_query = table(con, "select text from texts where image = ? and is_test_query order by text_id", [image])[0][0]
    searcher = Searcher(con)
    con.close()
    assert image not in [h.image for h in searcher.search(own_query, top=100).results]
    assert image not in result.report.read_text()
    status = runner.invoke(main, ["status"])
    assert "photo files not on disk as ingested: 1 missing" in status.output
    # the file returns: the photo is back in scores and search
    shutil.copy(next((SAMPLE_DIR / "test_images").glob(image)), copy)
    result = run_nightly(db, folds=3, log=lines.append)
    assert dict(result.stages)["files"] == "74 of 74 photo files ok; 1 came back"
    con = wsdb.connect_read_only(db)
    assert table(con, "select photo_set, count(distinct image) from scores join score_runs using (run_id) "
                      "group by all order by all") == [("all", 74), ("test", 12)]
    searcher = Searcher(con)
    con.close()
    assert image in [h.image for h in searcher.search(own_query, top=100).results]


def test_a_photo_that_returns_or_changes(db, moved_photo):
    image, copy = moved_photo
    data = copy.read_bytes()
    copy.unlink()
    con = wsdb.connect(db)
    assert run_files(con).states == {"ok": 73, "missing": 1}
    copy.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))          # same size, other content
    r = run_files(con)
    assert r.states == {"ok": 73, "changed": 1} and r.changed == [(image, "missing", "changed")]
    copy.write_bytes(data)
    r = run_files(con)
    assert r.states == {"ok": 74} and r.summary() == "74 of 74 photo files ok; 1 came back"
    assert table(con, "select status from photos where image = ?", [image]) == [("ok",)]
    con.close()


def test_an_idle_reader_is_named_and_waited_for(runner, db):
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlalchemy as sa, sys, time
        from ws_core import db as wsdb
        from pathlib import Path
        engine = sa.create_engine(wsdb.analyst_url(Path({str(db)!r})))
        c = engine.connect()
        c.execute(sa.text("select 1"))
        print("reading", flush=True)
        time.sleep(float(sys.stdin.readline()))
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "reading"
        out = runner.invoke(main, ["nightly"])
        assert out.exit_code == 1
        assert out.stderr == (f"Error: Database {db} is open by a reader (pid {reader.pid}: `ws sql`, `ws search`, "
                              "`ws status` or an analyst's connection), and DuckDB lets no process write while "
                              "one reads; close it, or pass --wait SECONDS to `ws nightly`.\n")
        reader.stdin.write("2\n")
        reader.stdin.flush()                         # the reader leaves in 2 s; the nightly waits for it
        out = runner.invoke(main, ["nightly", "--wait", "60"])
        assert out.exit_code == 0, out.output
    finally:
        reader.kill()
        reader.wait()


@pytest.mark.parametrize("term,lang,message", [
    ("ребенок", "en", "'ребенок' has letters that are not Latin (бекнор) but --lang is en; pass --lang ru"),
    ("kids", "ru", "'kids' has letters that are not Cyrillic (diks) but --lang is ru; pass --lang en"),
    ("", "en", "the term is empty"),
    ("   ", "en", "the term is empty"),
    ("%", "en", "'%' has %: terms are plain words matched whole (no wildcards or patterns)"),
    ("_", "en", "'_' has _: terms are plain words matched whole"),
    (".*", "en", "'.*' has * .: terms are plain words matched whole"),
    ("ki%", "en", "'ki%' has %: terms are plain words matched whole"),
    ("123", "en", "'123' has no letters"),
])
def test_vocabulary_terms_are_checked(runner, con, term, lang, message):
    con.close()
    before = runner.invoke(main, ["policy", "terms", "--lang", lang]).output
    out = runner.invoke(main, ["policy", "terms", "--add", term, "not_child", "--lang", lang])
    assert out.exit_code == 2
    assert out.stderr.splitlines()[-1].startswith(f"Error: Invalid value for --add: {message}")
    assert runner.invoke(main, ["policy", "terms", "--lang", lang]).output == before


def test_a_proper_term_is_still_added(runner, con):
    con.close()
    out = runner.invoke(main, ["policy", "terms", "--add", "  kiddies ", "child"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(main, ["policy", "check", "three kiddies on a bench"])
    assert out.stdout.splitlines()[:2] == ["decision: asks for children (decided by the vocabulary)",
                                           "evidence: kiddies"]
