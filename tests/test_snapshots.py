"""Published snapshots (issue 18): readers never wait for a job, see one consistent state, and fall back
when a snapshot is missing or damaged; a failed publish leaves the previous snapshot in place."""
import errno
import shutil
import subprocess
import sys
import textwrap

from ws_core import db as wsdb
from ws_core import snapshot
from ws_core.cli import main
from tests.conftest import table


def _texts(path) -> int:
    con = wsdb.connect_read_only(path)
    try:
        return table(con, "select count(*) from texts")[0][0]
    finally:
        con.close()


def test_a_job_publishes_and_readers_open_the_snapshot(runner, db):
    out = runner.invoke(main, ["policy", "region", "XX", "--no-rule"])
    assert out.exit_code == 0, out.output
    ptr = snapshot.latest(db)
    snap = snapshot.folder(db) / ptr["file"]
    assert ptr["label"] == "policy" and ptr["previous"] is None and snap.exists()
    assert (snapshot.folder(db) / "latest.duckdb").resolve() == snap.resolve()
    assert snapshot.candidates(db)[0] == snap               # nothing written since: the snapshot
    con, source = wsdb.open_reader(db)
    assert source == snap and table(con, "select children_rule from jurisdictions where region = 'XX'") == [(False,)]
    con.close()
    out = runner.invoke(main, ["status"])
    reader = wsdb.connect_read_only(db)
    last_run = table(reader, "select run_id from job_runs order by started_at desc limit 1")[0][0]
    reader.close()
    assert ptr["run_id"] == last_run
    line = out.stdout.splitlines()[1]
    assert line.startswith("read from the snapshot published after `policy` at ")
    assert line.endswith(f" min ago, last job run {last_run})")
    # a direct write makes the working database newer: a reader takes it while it is free
    con = wsdb.connect(db)
    con.execute("delete from jurisdictions where region = 'XX'")
    con.close()
    assert snapshot.candidates(db) == [db]
    assert runner.invoke(main, ["sql", "select count(*) as n from jurisdictions where region = 'XX'"]).stdout \
        .split() == ["n", "0"]


def test_a_writer_holding_the_database_sends_readers_to_the_snapshot(runner, db):
    assert runner.invoke(main, ["policy", "region", "YY", "--rule"]).exit_code == 0
    before = _texts(db)
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from ws_core import db as wsdb
        con = wsdb.connect(Path({str(db)!r}))
        con.execute("delete from texts where is_description")
        print("writing", flush=True)
        sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        assert snapshot.candidates(db)[0].parent == snapshot.folder(db)
        assert _texts(db) == before                        # the published state, not the write under way
        out = runner.invoke(main, ["status"])
        assert out.exit_code == 0 and "read from the snapshot published after `policy`" in out.stdout
    finally:
        writer.communicate("\n", timeout=60)


def test_missing_or_damaged_snapshot_falls_back(runner, db):
    for region in ("A1", "A2"):
        assert runner.invoke(main, ["policy", "region", region, "--rule"]).exit_code == 0
    ptr = snapshot.latest(db)
    newest, previous = (snapshot.folder(db) / ptr[k] for k in ("file", "previous"))
    assert previous.exists()
    with open(newest, "r+b") as f:                         # cut: its tables point past the end
        f.truncate(newest.stat().st_size // 3)
    con, source = wsdb.open_reader(db)
    assert source == previous and table(con, "select count(*) from jurisdictions where region = 'A2'") == [(0,)]
    con.close()
    newest.unlink()
    previous.unlink()
    con, source = wsdb.open_reader(db)                     # none left: the working database
    assert source == db
    con.close()


def test_disk_full_while_publishing_keeps_the_previous_snapshot(runner, db, monkeypatch):
    assert runner.invoke(main, ["policy", "region", "B1", "--rule"]).exit_code == 0
    before = snapshot.latest(db)

    def full(src, dst, length=0):
        dst.write(src.read(4096))
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(shutil, "copyfileobj", full)
    out = runner.invoke(main, ["policy", "region", "B2", "--rule"])
    assert out.exit_code == 1
    assert out.stderr.strip() == (f"Error: Publishing a snapshot of {db} failed (No space left on device); "
                                  "readers keep the previous one. The job's results are in the working database.")
    assert snapshot.latest(db) == before
    assert sorted(p.name for p in snapshot.folder(db).iterdir()) == sorted(
        [before["file"], "latest.duckdb", "latest.json"])
    con = wsdb.connect(db)                                 # the job's own write is kept
    assert table(con, "select count(*) from jurisdictions where region = 'B2'") == [(1,)]
    con.close()


def test_old_snapshots_go_once_no_reader_holds_them(runner, db):
    for region in ("C1", "C2"):
        assert runner.invoke(main, ["policy", "region", region, "--rule"]).exit_code == 0
    first = snapshot.folder(db) / snapshot.latest(db)["previous"]
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(first)!r}, read_only=True)
        print(con.execute("select count(*) from jurisdictions where region = 'C2'").fetchone()[0], flush=True)
        sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "0"     # it holds the state before C2
        for region in ("C3", "C4"):
            assert runner.invoke(main, ["policy", "region", region, "--rule"]).exit_code == 0
        assert first.exists()                              # held open: kept
    finally:
        reader.communicate("\n", timeout=60)
    assert runner.invoke(main, ["policy", "region", "C5", "--rule"]).exit_code == 0
    names = sorted(p.name for p in snapshot.folder(db).glob("*.duckdb") if not p.is_symlink())
    ptr = snapshot.latest(db)
    assert names == sorted([ptr["file"], ptr["previous"]])


def test_readers_never_fail_while_the_nightly_runs_on_changed_data(db, sample, tmp_path):
    """Four reader processes loop while `ws nightly` ingests new descriptions, embeds, retrains and
    scores (`ws bench readers`): no read fails, and every read sees one state (texts and their vectors
    agree)."""
    from ws_core.bench import readers_benchmark
    con = wsdb.connect(db)                                 # a first publish: readers start on a snapshot
    snapshot.publish(con, db, "test")
    before = table(con, "select count(*) from texts")[0][0]
    con.close()
    extra = tmp_path / "photo_descriptions.tsv"
    images = [p.name for p in sorted((sample / "train_images").iterdir())[:3]]
    extra.write_text("image\tdescription_id\tdescription\n" + "".join(
        f"{im}\t{im}#9{i}\tA new description number {i} of this photo .\n" for i, im in enumerate(images)),
        encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    rows, got = readers_benchmark(db, 4, ["nightly", "--descriptions", str(extra), "--folds", "3"], work)
    assert got["job"].returncode == 0, got["job"].stderr
    assert got["failures"] == []
    after = _texts(db)
    assert after == before + 3
    # only whole states: the texts before with all their vectors, or after with all theirs
    assert set(got["states"]) <= {(before, before), (after, after)}, got["states"]
    measures = dict(rows)
    assert measures["failed reads"] == "0" and int(measures["reads"]) > 0
