"""Declarative data tests for every view (sql/data_tests.toml), run on the sample nightly: grain,
not-null columns, accepted values, ranges, references and row counts."""
import tomllib

import duckdb
import pytest

from ws_core import db as wsdb
from ws_core.config import SQL_DIR

SPEC = tomllib.loads((SQL_DIR / "data_tests.toml").read_text(encoding="utf-8"))


def _views() -> list[str]:
    return [f.stem for f in wsdb.view_files()]


def test_every_view_has_data_tests_and_every_test_a_view():
    assert sorted(SPEC) == sorted(_views())


@pytest.fixture(scope="module")
def nightly(built):
    con = wsdb.connect_read_only(built)
    yield con
    con.close()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _failures(con, view: str, spec: dict) -> list[str]:
    out = []
    v = _q(view)
    cols = {d[0] for d in con.execute(f"select * from {v} limit 0").description}
    named = set(spec.get("grain", [])) | set(spec.get("not_null", [])) | set(spec.get("accepted", {})) \
        | set(spec.get("range", {})) | set(spec.get("references", {}))
    out += [f"{view}: no column {c}" for c in sorted(named - cols)]
    if out:
        return out
    if spec.get("grain"):
        keys = ", ".join(map(_q, spec["grain"]))
        dup = con.execute(f"select count(*) from (select {keys} from {v} group by all having count(*) > 1)").fetchone()[0]
        if dup:
            out.append(f"{view}: {dup} values of ({keys}) on more than one row")
    for c in spec.get("not_null", []):
        n = con.execute(f"select count(*) from {v} where {_q(c)} is null").fetchone()[0]
        if n:
            out.append(f"{view}.{c}: {n} NULLs")
    for c, allowed in spec.get("accepted", {}).items():
        values = [a for a in allowed if a != "NULL"]
        bad = con.execute(f"select distinct {_q(c)} from {v} where not list_contains(?, {_q(c)}) "
                          f"or ({_q(c)} is null and not ?)", [values, "NULL" in allowed]).fetchall()
        if bad:
            out.append(f"{view}.{c}: values not accepted: {sorted(map(str, (b for (b,) in bad)))}")
    for c, (low, high) in spec.get("range", {}).items():
        n = con.execute(f"select count(*) from {v} where {_q(c)} < ? or {_q(c)} > ?", [low, high]).fetchone()[0]
        if n:
            out.append(f"{view}.{c}: {n} values outside [{low}, {high}]")
    for c, target in spec.get("references", {}).items():
        table, column = target.split(".")
        n = con.execute(f"select count(*) from {v} x where {_q(c)} is not null and not exists "
                        f"(select 1 from {_q(table)} t where t.{_q(column)} = x.{_q(c)})").fetchone()[0]
        if n:
            out.append(f"{view}.{c}: {n} values not in {target}")
    if "sample_rows" in spec:
        n = con.execute(f"select count(*) from {v}").fetchone()[0]
        if n != spec["sample_rows"]:
            out.append(f"{view}: {n} rows on the sample, expected {spec['sample_rows']}")
    return out


@pytest.mark.parametrize("view", sorted(SPEC))
def test_view_data(nightly, view):
    assert _failures(nightly, view, SPEC[view]) == []


def test_the_data_tests_catch_what_they_describe():
    """Each kind of test fails on a view built to break it."""
    con = duckdb.connect()
    con.execute("create table photos (image varchar)")
    con.execute("insert into photos values ('a.jpg'), ('b.jpg')")
    con.execute("create view broken as select * from (values ('a.jpg', 1, 0.5, 'x'), ('a.jpg', null, 1.5, 'y'), "
                "('zzz.jpg', 2, 0.1, null)) t(image, n, score, kind)")
    spec = {"grain": ["image"], "not_null": ["n"], "accepted": {"kind": ["x", "y"]}, "range": {"score": [0, 1]},
            "references": {"image": "photos.image"}, "sample_rows": 2}
    assert _failures(con, "broken", spec) == [
        'broken: 1 values of ("image") on more than one row', "broken.n: 1 NULLs",
        "broken.kind: values not accepted: ['None']", "broken.score: 1 values outside [0, 1]",
        "broken.image: 1 values not in photos.image", "broken: 3 rows on the sample, expected 2"]
    assert _failures(con, "broken", {"not_null": ["nope"]}) == ["broken: no column nope"]
