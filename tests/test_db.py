import pytest

from ws_core import db as wsdb
from ws_core.errors import WsError
from tests.conftest import table


def test_migrations_are_recorded_once(ws_db):
    con = wsdb.connect(ws_db)
    names = [f.name for _, f in wsdb.migrations()]
    assert table(con, "select name from schema_migrations order by version") == [(n,) for n in names]
    assert wsdb.migrate(con) == []          # nothing left to apply
    con.close()
    con = wsdb.connect(ws_db)               # reopening applies nothing twice
    assert table(con, "select count(*) from schema_migrations") == [(len(names),)]
    con.close()


def test_every_sql_file_is_a_view_named_after_it(con):
    views = {v for (v,) in table(con, "select view_name from duckdb_views() where not internal")}
    assert views == {f.stem for f in wsdb.view_files()}
    assert {"stg_expert", "stg_crowd", "rpt_data_quality", "rpt_expert_agreement"} <= views


def test_read_only_connection_refuses_writes(ws_db):
    wsdb.connect(ws_db).close()
    ro = wsdb.connect_read_only(ws_db)
    with pytest.raises(Exception, match="read-only"):
        ro.execute("insert into job_runs (run_id, job, started_at, status) values ('x', 'y', now(), 'ok')")
    ro.close()


def test_read_only_without_a_database_says_what_to_do(tmp_path):
    with pytest.raises(WsError, match=r"No database at .*x.duckdb: run `ws ingest` first"):
        wsdb.connect_read_only(tmp_path / "x.duckdb")


def test_transaction_rolls_back_on_error(con):
    with pytest.raises(ValueError):
        with wsdb.transaction(con):
            con.execute("insert into job_runs (run_id, job, started_at, status) values ('x', 'y', now(), 'ok')")
            raise ValueError
    assert table(con, "select count(*) from job_runs") == [(0,)]
