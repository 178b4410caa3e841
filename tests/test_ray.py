"""The Ray engine (ws_core/distributed.py): `ws embed --engine ray` on a local Ray with 2 CPUs gives the
local engine's rows, quarantines a photo that fails, and a run that dies before loading loses nothing."""
import shutil

import numpy as np
import pytest

from jobs.embed import run_embed
from jobs.ingest import run_ingest
from ws_core import db as wsdb
from ws_core import distributed, searchpack
from ws_core.config import SAMPLE_DIR
from tests.conftest import table

pytest.importorskip("ray")

PHOTOS = "select image, sha256, vector from image_embeddings order by image"
LABELS = "select image, rank, label_index, label, prob from image_labels order by image, rank"


@pytest.fixture
def ingested(tmp_path):
    """The sample ingested twice (one database per engine), one photo changed after ingest."""
    data = tmp_path / "sample"
    shutil.copytree(SAMPLE_DIR, data)
    dbs = []
    for name in ("local", "ray"):
        con = wsdb.connect(tmp_path / f"{name}.duckdb")
        run_ingest(con, [data], [])
        dbs.append(con)
    changed = sorted((data / "test_images").glob("*.jpg"))[0]
    changed.write_bytes(changed.read_bytes() + b"\0")
    yield tmp_path, changed.name, dbs
    for con in dbs:
        con.close()


def test_ray_engine_writes_the_local_engines_rows_and_resumes_after_a_kill(ingested, monkeypatch):
    tmp_path, changed, (local, on_ray) = ingested
    monkeypatch.setattr(distributed, "PART_PHOTOS", 32)              # 74 photos: three parts
    run_embed(local, "effnet-lite2", "minilm-l6")
    parts = tmp_path / "parts"
    # the loading transaction fails after every part was written (a kill at that point)
    import jobs.embed
    real = jobs.embed._write_rows
    monkeypatch.setattr(jobs.embed, "_write_rows", lambda *a: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError, match="killed"):
        run_embed(on_ray, "effnet-lite2", "minilm-l6", engine="ray", parts=parts)
    assert len(list((parts / "embed-effnet-lite2-v1").glob("part-*.parquet"))) == 3
    assert table(on_ray, "select count(*) from image_embeddings") == [(0,)]
    assert table(on_ray, "select status, message from job_runs where job = 'embed'") == [("failed", "RuntimeError: killed")]
    monkeypatch.setattr(jobs.embed, "_write_rows", real)
    r = run_embed(on_ray, "effnet-lite2", "minilm-l6", engine="ray", parts=parts)
    assert (r.photos, r.failed, r.texts) == (73, 1, 370)
    assert table(on_ray, "select message from job_runs where job = 'embed' and status = 'ok'") == [
        ("engine ray: 3 parts (3 from an earlier run); 1 photos failed to decode (see quarantine)",)]
    assert not (parts / "embed-effnet-lite2-v1").exists()              # loaded: the parts are gone
    want, got = local.execute(PHOTOS).fetchnumpy(), on_ray.execute(PHOTOS).fetchnumpy()
    assert list(got["image"]) == list(want["image"]) and changed not in list(got["image"])
    assert list(got["sha256"]) == list(want["sha256"])
    np.testing.assert_allclose(np.stack(got["vector"]), np.stack(want["vector"]), atol=1e-5)
    got_labels, want_labels = table(on_ray, LABELS), table(local, LABELS)
    assert [r[:4] for r in got_labels] == [r[:4] for r in want_labels]
    np.testing.assert_allclose([r[4] for r in got_labels], [r[4] for r in want_labels], atol=1e-6)
    quarantined = "select source, raw, reason from quarantine where source like 'embed/%'"
    assert table(on_ray, quarantined) == table(local, quarantined) == [
        ("embed/effnet-lite2/v1", changed, "photo file changed since ingest; run `ws ingest` again")]


def test_ray_needs_a_parts_folder_and_the_cli_says_how_to_get_ray(runner, monkeypatch, tmp_path):
    from ws_core.cli import main
    out = runner.invoke(main, ["embed", "--db", str(tmp_path / "x.duckdb"), "--address", "ray://h:10001"])
    assert out.exit_code == 2 and "--address is for --engine ray" in out.output
    import importlib.util
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    out = runner.invoke(main, ["embed", "--db", str(tmp_path / "x.duckdb"), "--engine", "ray"])
    assert out.exit_code == 2 and "--engine ray needs Ray: pip install 'with-sense[ray]'" in out.output


SCORES = ("select s.query_id, s.image, s.rank, s.score from scores s join score_runs r using (run_id) "
          "join models m on m.model_id = r.model_id where r.photo_set = ? and m.name = 'pair_mlp' "
          "order by s.query_id, s.rank")


@pytest.fixture
def local_ray():
    """One local Ray with 2 CPUs for the test (the engine leaves a Ray it did not start running)."""
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("candidates", [5000, 20])      # every photo scored; two stages (recall, re-rank)
def test_ray_scores_are_the_local_engines_and_a_killed_load_keeps_the_old_rows(db, tmp_path, monkeypatch,
                                                                              local_ray, candidates):
    import jobs.score
    from jobs.score import run_score
    from ws_core import search
    monkeypatch.setattr(distributed, "PART_QUERIES", 16)
    monkeypatch.setattr(search, "queries_per_call", lambda photos, candidates: 8)    # 2 calls a part, 4 parts
    # the corpus path, whatever packs other tests built (the pack's path is the next test)
    monkeypatch.setattr(searchpack.Pack, "open", classmethod(lambda cls, con, model: None))
    con = wsdb.connect(db)
    # a model with a two-tower, to recall candidates with (the sample's active one may have none)
    model = table(con, "select model_id from models where name = 'pair_mlp'")[0][0]

    def score(**kw):
        return run_score(con, "test", "all", model, force=True, candidates=candidates, **kw)
    score()
    want = table(con, SCORES, ["all"])
    parts = tmp_path / "parts"
    real = jobs.score.transaction
    monkeypatch.setattr(jobs.score, "transaction", lambda c: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError, match="killed"):
        score(engine="ray", parts=parts)
    assert table(con, SCORES, ["all"]) == want                       # nothing stored was lost
    n_parts = len(list(parts.glob("score-*/part-*.parquet")))
    assert n_parts == -(-len({q for q, *_ in want}) // 16) and n_parts > 1
    monkeypatch.setattr(jobs.score, "transaction", real)
    r = score(engine="ray", parts=parts)
    assert table(con, "select message from job_runs where job = 'score' order by started_at desc limit 1") == [
        (f"engine ray: {n_parts} parts ({n_parts} from an earlier run)",)]
    got = table(con, SCORES, ["all"])
    assert r.rows == len(want) and [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], atol=1e-5, rtol=0)
    assert not list(parts.glob("score-*"))                          # loaded: the parts are gone
    con.close()


def test_ray_scores_through_the_search_pack_are_the_local_ones(db, tmp_path, monkeypatch, local_ray):
    """Above its candidates with a current search pack, the score job on Ray maps the pack on each
    worker (the driver never loads the corpus) and writes the local engine's rows."""
    import ws_core.corpus
    from jobs.score import run_score
    from ws_core.search import active_model
    monkeypatch.setattr(distributed, "PART_QUERIES", 16)
    con = wsdb.connect(db)
    (model,), = table(con, "select model_id from models where name = 'pair_mlp'")
    searchpack.build(con, active_model(con, model))
    local = run_score(con, "test", "all", model, force=True, candidates=20)
    want = table(con, SCORES, ["all"])
    monkeypatch.setattr(ws_core.corpus, "load_corpus", lambda *a, **k: pytest.fail("the corpus was loaded"))
    parts = tmp_path / "parts"
    r = run_score(con, "test", "all", model, force=True, candidates=20, engine="ray", parts=parts)
    assert (local.through_pack, r.through_pack, r.rows, local.rows) == (True, True, 60 * 20, 60 * 20)
    assert table(con, "select message from job_runs where job = 'score' order by started_at desc limit 1") == [
        ("through the search pack; engine ray: 4 parts (0 from an earlier run)",)]
    got = table(con, SCORES, ["all"])
    assert [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], atol=1e-6, rtol=0)
    assert not list(parts.glob("score-*"))                          # loaded: the parts are gone
    con.close()


def test_ray_pixel_flags_are_the_local_ones(db, tmp_path, monkeypatch, local_ray):
    from jobs.policy import run_policy
    from ws_core.policy.pixels import PixelParams
    monkeypatch.setattr(distributed, "PART_FLAGS", 20)
    con = wsdb.connect(db)
    flags = "select entity_id, score from policy_flags where source = 'pixels' order by entity_id"
    want = table(con, flags)
    n_photos = table(con, "select count(*) from image_embeddings")[0][0]
    run_policy(con, force=True, log=lambda m: None, engine="ray", parts=tmp_path / "parts")
    got = table(con, flags)
    assert [g[0] for g in got] == [w[0] for w in want] and len(want) > 0
    np.testing.assert_allclose([g[1] for g in got], [w[1] for w in want], atol=1e-6, rtol=0)
    assert table(con, "select message from job_runs where job = 'policy' order by started_at desc limit 1") == [
        (f"engine ray: pixel flags in {-(-n_photos // 20)} parts (0 from an earlier run)",)]
    assert not (tmp_path / "parts" / "pixel-flags").exists()
    # with the neighbours' vote: each part knows its photos' names, so a described photo is left out
    # of its own neighbourhood as locally
    params = PixelParams(knn_weights=(0.5,))
    run_policy(con, params=params, force=True, log=lambda m: None)
    want = table(con, flags)
    run_policy(con, params=params, force=True, log=lambda m: None, engine="ray", parts=tmp_path / "parts")
    got = table(con, flags)
    assert [g[0] for g in got] == [w[0] for w in want] and len(want) > 0
    np.testing.assert_allclose([g[1] for g in got], [w[1] for w in want], atol=1e-6, rtol=0)
    con.close()


def test_score_and_policy_take_the_engine_options(runner, monkeypatch, tmp_path):
    from ws_core.cli import main
    for command in (["score"], ["policy", "run"], ["nightly"]):
        out = runner.invoke(main, [*command, "--db", str(tmp_path / "x.duckdb"), "--address", "ray://h:10001"])
        assert out.exit_code == 2 and "--address is for --engine ray" in out.output, command
