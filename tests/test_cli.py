import json
import re

import click
import pytest

from ws_core.cli import main
from ws_core.config import SAMPLE_DIR


def all_commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path, cmd", list(all_commands(main)), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help(runner, path, cmd):
    assert cmd.help and cmd.help.strip(), f"ws {' '.join(path)} has no help text"
    result = runner.invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage: main " + " ".join(path) in result.output


def test_ingest_then_status_and_sql(runner, ws_db):
    result = runner.invoke(main, ["ingest", "--data", str(SAMPLE_DIR)])
    assert result.exit_code == 0, result.output
    assert "now stored: 74 photos, 370 texts, 74 expert_annotations, 273 crowd_annotations" in result.stdout
    assert result.stderr == ""

    status = runner.invoke(main, ["status"])
    assert status.exit_code == 0
    from ws_core.db import migrations
    assert f"database {ws_db} (schema version {len(migrations())})" in status.stdout
    assert re.search(r"^  crowd_annotations +273$", status.stdout, re.M)
    assert "quarantined in the latest read of each source:\n  nothing" in status.stdout

    out = runner.invoke(main, ["sql", "select split, count(*) as n from photos where split = :s "
                                      "group by split", "-p", "s=test", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == [{"split": "test", "n": 12}]
    csv_out = runner.invoke(main, ["sql", "select count(*) as n from texts", "--csv"])
    assert csv_out.stdout == "n\n370\n"


def test_db_option_wins_over_ws_db(runner, tmp_path):
    other = tmp_path / "other.duckdb"
    result = runner.invoke(main, ["ingest", "--db", str(other), "--data", str(SAMPLE_DIR)])
    assert result.exit_code == 0
    assert other.exists()
    status = runner.invoke(main, ["status", "--db", str(other)])
    assert f"database {other}" in status.stdout


def test_sql_is_read_only(runner):
    runner.invoke(main, ["ingest", "--data", str(SAMPLE_DIR)])
    result = runner.invoke(main, ["sql", "delete from photos"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the analysts' connection is read-only; writes are refused")
    count = runner.invoke(main, ["sql", "select count(*) as n from photos", "--csv"])
    assert count.stdout == "n\n74\n"


def test_sql_errors_are_one_line(runner):
    runner.invoke(main, ["ingest", "--data", str(SAMPLE_DIR)])
    result = runner.invoke(main, ["sql", "select * from no_such_table"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: query failed: Catalog Error: Table with name no_such_table")
    assert "Traceback" not in result.output
    bad = runner.invoke(main, ["sql", "select 1", "-p", "novalue"])
    assert bad.exit_code == 2
    assert "'novalue' is not NAME=VALUE" in bad.stderr


def test_user_mistakes_exit_with_one_clear_line(runner, ws_db, tmp_path):
    no_db = runner.invoke(main, ["status"])
    assert no_db.exit_code == 1
    assert no_db.stderr == f"Error: No database at {ws_db}: run `ws ingest` first (or point --db / WS_DB at one).\n"

    none = runner.invoke(main, ["ingest"])
    assert none.exit_code == 2
    assert "Error: give at least one --data folder or --descriptions file" in none.stderr

    missing = runner.invoke(main, ["ingest", "--data", str(tmp_path / "nope")])
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: Data folder {tmp_path / 'nope'} does not exist or is not a folder.\n"


def test_locked_database_gives_a_clear_message(ws_db, tmp_path):
    import subprocess
    import sys
    import textwrap
    from ws_core import db as wsdb
    holder = wsdb.connect(ws_db)  # this process holds the write lock
    try:
        code = textwrap.dedent(f"""
            from click.testing import CliRunner
            from ws_core.cli import main
            r = CliRunner().invoke(main, ["ingest", "--db", {str(ws_db)!r}, "--data", {str(SAMPLE_DIR)!r}])
            print(r.exit_code); print(r.stderr)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    finally:
        holder.close()
    assert out.stdout.splitlines()[0] == "1"
    import os
    assert (f"Error: Database {ws_db} is in use by another process (pid {os.getpid()}), which holds its "
            "write lock; wait for it to finish and try again.") in out.stdout


def test_the_command_line_starts_without_heavy_libraries():
    """`ws --help` and every command's --help must answer at once: torch, transformers, sklearn,
    scipy, pandas, sqlalchemy, onnxruntime, PIL, numpy and duckdb are imported by the commands that
    use them, not at start-up."""
    import subprocess
    import sys
    code = ("import sys, click\n"
            "from ws_core.cli import main\n"
            "def helps(cmd, path):\n"
            "    yield path\n"
            "    for name, sub in getattr(cmd, 'commands', {}).items():\n"
            "        yield from helps(sub, [*path, name])\n"
            "shown = 0\n"
            "for path in helps(main, []):\n"
            "    try:\n"
            "        main([*path, '--help'], standalone_mode=False)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "    shown += 1\n"
            "heavy = ['torch', 'transformers', 'sklearn', 'scipy', 'pandas', 'sqlalchemy', 'onnxruntime', 'PIL',\n"
            "         'numpy', 'duckdb']\n"
            "print(shown, ' '.join(m for m in heavy if m in sys.modules), file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    shown, *loaded = out.stderr.split()
    assert int(shown) > 30 and loaded == []


def test_bench_startup_times_every_command_as_a_process(runner):
    out = runner.invoke(main, ["bench", "startup", "--runs", "1"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines[2:]] == [
        "python -c pass (baseline)", "ws --help", *[f"ws {name} --help" for name in sorted(main.commands)]]
    assert lines[2].split()[-1] == "1.0" and all(float(line.split()[-1]) > 1 for line in lines[3:])


def test_db_before_the_command_name(runner, tmp_path):
    other = tmp_path / "other.duckdb"
    assert runner.invoke(main, ["--db", str(other), "ingest", "--data", str(SAMPLE_DIR)]).exit_code == 0
    status = runner.invoke(main, ["--db", str(other), "status"])
    assert status.exit_code == 0 and f"database {other}" in status.stdout


def test_sql_edges_are_one_line_with_the_right_exit_code(runner):
    runner.invoke(main, ["ingest", "--data", str(SAMPLE_DIR)])
    out = runner.invoke(main, ["sql", "select * from photos where image = :x"])
    assert out.exit_code == 2 and out.stderr.splitlines()[-1] == \
        "Error: the query uses :x; give each with -p NAME=VALUE"
    out = runner.invoke(main, ["sql", "selec 1"])
    assert out.exit_code == 2 and out.stderr.splitlines()[-1].startswith("Error: query failed: Parser Error")
    # the --help example returns rows on the sample
    example = main.commands["sql"].help.split("Example: ws sql ")[1].split("\n")[0]
    import shlex
    out = runner.invoke(main, ["sql", *shlex.split(example), "--csv"])
    assert out.stdout == "source,rows_loaded\nsample/ExpertAnnotations.tsv,74\n"


def test_sql_renders_null_one_way_per_format(runner):
    runner.invoke(main, ["ingest", "--data", str(SAMPLE_DIR)])
    q = "select null as a, 1.5 as b union all select 2, null"
    assert runner.invoke(main, ["sql", q, "--json"]).stdout == '[{"a": null, "b": 1.5}, {"a": 2, "b": null}]\n'
    assert runner.invoke(main, ["sql", q, "--csv"]).stdout == "a,b\n,1.5\n2,\n"
    assert runner.invoke(main, ["sql", q]).stdout == "   a    b\nNULL  1.5\n   2 NULL\n"


def test_a_child_query_is_answered_without_loading_torch(runner, ws_db):
    """Answered from the vocabulary alone: no model, no torch, a fraction of a second."""
    import subprocess
    import sys
    runner.invoke(main, ["ingest", "--data", str(SAMPLE_DIR)])
    code = ("import sys; from ws_core.cli import main\n"
            f"main(['--db', {str(ws_db)!r}, 'search', 'two kids on a swing'], standalone_mode=False)\n"
            "print('torch' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("We cannot show photos for this search")
    assert out.stdout.splitlines()[-1] == "False False"
