"""Scale (issue 19): stage one's approximate index (ws_core/ann.py), the search pack over it, and
`ws bench scale` end to end on small synthetic catalogues."""
import re
import shutil

import numpy as np

from ws_core import ann, search, searchpack
from ws_core import db as wsdb
from ws_core.cli import main
from ws_core.corpus import load_corpus
from ws_core.encoders import text_encoder_for_version
from ws_core.search import Searcher, active_model, load_model
from tests.conftest import table


def _clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    x = centres[rng.integers(0, 200, n)] + rng.standard_normal((n, dim)).astype(np.float32) * 0.3
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_ivf_index_reaches_its_recall_and_never_returns_a_hidden_row(tmp_path):
    x = _clustered(20_000)
    settings = ann.build(x, tmp_path / "i.faiss", k=200)
    assert settings["recall"] >= ann.RECALL_GOAL and settings["nprobe"] in ann.PROBES
    assert settings["nlist"] == 512                       # 4 sqrt(20,000), at most 20,000 / 39
    index = ann.Index(tmp_path / "i.faiss", settings["nprobe"])
    rng = np.random.default_rng(1)
    queries = x[rng.choice(len(x), 20, replace=False)] + rng.standard_normal((20, 32)).astype(np.float32) * 0.05
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = ann.exact_top(x, queries, 200)
    assert all(set(e) == set(np.argsort(-(x @ q))[:200]) for e, q in zip(exact, queries))
    recall = np.mean([len(np.intersect1d(index.search(q, 200), e)) / 200 for q, e in zip(queries, exact)])
    assert recall >= 0.98
    shown = rng.random(len(x)) < 0.5
    for q in queries[:5]:
        rows = index.search(q, 200, shown=shown)
        assert len(rows) == 200 and shown[rows].all() and (np.diff(rows) > 0).all()
    # every photo near the query hidden but a few: the lists first scanned hold fewer than k shown
    # rows, so more are scanned until k are found
    near = x @ queries[0] > 0.2
    shown = ~near | (rng.random(len(x)) < 0.01)
    assert (near & ~shown).sum() > 1000
    rows = index.search(queries[0], 200, shown=shown)
    assert len(rows) == 200 and shown[rows].all()
    want = np.flatnonzero(shown)[np.argsort(-(x[shown] @ queries[0]))[:200]]
    assert len(np.intersect1d(rows, want)) >= 0.9 * 200
    assert len(index.search(queries[0], 200, shown=np.arange(len(x)) < 150)) == 150     # fewer shown than k


def test_a_large_catalogue_pack_searches_through_the_index(db, monkeypatch):
    """ANN_MIN lowered to the sample's size: the pack carries an IVF index, search recalls through it
    (hidden photos never recalled) and the model's scores are unchanged."""
    monkeypatch.setattr(ann, "ANN_MIN", 50)
    monkeypatch.setattr(search, "CANDIDATES", 10)
    con = wsdb.connect_read_only(db)
    (pair,), = table(con, "select model_id from models where name = 'pair_mlp'")
    entry = active_model(con, pair)
    folder = searchpack.pack_root(entry) / searchpack.state_name(con, entry)
    shutil.rmtree(folder, ignore_errors=True)           # other tests' pack of this model has no index
    try:
        pack = searchpack.Pack(searchpack.build(con, entry))
        assert pack.stage_one["nlist"] == 1 and (pack.folder / "stage_one.faiss").is_file()
        searcher = Searcher(con, model_id=pair)
    finally:
        con.close()
    try:
        _search_through_the_index(db, entry, searcher)
    finally:
        shutil.rmtree(folder, ignore_errors=True)       # the shared pack without an index is built again


def _search_through_the_index(db, entry, searcher):
    con = wsdb.connect_read_only(db)
    scorer, corpus = load_model(entry), load_corpus(con, entry["image_encoder"], entry["text_encoder"])
    texts = [t for (t,) in table(con, "select text from texts where is_test_query order by text_id limit 30")]
    con.close()
    assert searcher.ann is not None and searcher.n_hidden > 0
    (corpus, slot), encoder = corpus.with_query_slot(), text_encoder_for_version(entry["text_encoder"])
    answered = 0
    for text in texts:
        result = searcher.search(text, top=100)
        if result.disclaimer:
            continue
        answered += 1
        assert len(result.results) == 10 and all(searcher.images.index(h.image) in searcher.visible
                                                  for h in result.results)
        corpus.text_vectors[slot], corpus.raw_texts[slot] = encoder.encode([text])[0], text
        rows = np.asarray([corpus.image_index[h.image] for h in result.results])
        np.testing.assert_allclose([h.score for h in result.results],
                                   scorer.score(corpus, rows, np.full(len(rows), slot)), atol=1e-5)
    assert answered >= 10


def test_bench_scale_runs_every_stage_and_fits_growth(runner, db):
    out = runner.invoke(main, ["bench", "scale", "--photos", "3000,1500", "--queries", "20", "--model", "pair_mlp"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["stage", "1,500", "s", "3,000"]
    assert [line.split("  ")[0] for line in lines[2:]] == [
        "synthetic photos (stand-in for embed)", "pack: transfer neighbours, projections", "policy: pixel flags",
        "score 20 queries (two stages)", "peak RSS, GB", "peak RSS after synthetic photos (stand-in for embed), GB",
        "peak RSS after pack: transfer neighbours, projections, GB", "peak RSS after policy: pixel flags, GB",
        "peak RSS after score 20 queries (two stages), GB", "peak RSS after search, GB", "search p50 / p95, ms",
        "search parts p50 (query check / encoder / stage one / re-rank), ms", "stage one: recall of the exact top 1000 (lists scanned)", "photos flagged by the pixel classifier",
        "score rows written"]
    cells = {line.split("  ")[0]: re.split(r"\s{2,}", line.strip())[1:] for line in lines[2:]}
    flagged = [int(c.replace(",", "")) for c in cells["photos flagged by the pixel classifier"]]
    rows = [int(c.replace(",", "")) for c in cells["score rows written"]]
    # as `ws score --photos all`: 1000 candidates a query among every photo (the rule applies in the views)
    assert rows == [20 * 1000, 20 * 1000] and 0 < flagged[0] < 1500 and 0 < flagged[1] < 3000
    assert re.fullmatch(r"-?\d+\.\d\d", cells["pack: transfer neighbours, projections"][2])
    assert cells["stage one: recall of the exact top 1000 (lists scanned)"] == ["exact", "exact"]
    parts = [[float(ms) for ms in c.split(" / ")] for c in cells["search parts p50 (query check / encoder / "
                                                                 "stage one / re-rank), ms"]]
    assert all(len(p) == 4 and all(ms > 0 for ms in p) for p in parts)
    bad = runner.invoke(main, ["bench", "scale", "--photos", "500"])
    assert bad.exit_code == 2 and "every size must be above 1000" in bad.output
    active = runner.invoke(main, ["bench", "scale", "--photos", "2000", "--queries", "5"])
    assert active.exit_code == 1
    assert "has no search pack with a two-tower: pass --model pair_mlp" in active.stderr


def test_bench_ann_compares_the_shipped_index_with_exact_and_graphs(runner, db):
    con = wsdb.connect_read_only(db)
    searchpack.build(con, active_model(con, table(con, "select model_id from models where name = 'pair_mlp'")[0][0]))
    con.close()
    out = runner.invoke(main, ["bench", "ann", "--photos", "3000", "--model", "pair_mlp"])
    assert out.exit_code == 0, out.output
    rows = {line.split("  ")[0]: re.split(r"\s{2,}", line.strip())[1:] for line in out.stdout.splitlines()[2:]}
    assert rows["exact scan (numpy)"][2] == "1.000"
    shipped = next(v for name, v in rows.items() if name.startswith("faiss IVF (shipped"))
    assert float(shipped[2]) >= ann.RECALL_GOAL
    assert {"faiss HNSW M32 ef 1000", "faiss HNSW M32 ef 2000"} <= rows.keys()
    assert runner.invoke(main, ["bench", "ann", "--photos", "3000"]).exit_code == 1     # the active: no tower
