"""The search pack (ws_core/searchpack.py): what `ws search` memory-maps instead of loading the model.
It must answer exactly as the model does, never answer for other data, and keep torch out of a search."""
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ws_core import db as wsdb
from ws_core import search, searchpack
from ws_core.cli import main
from ws_core.corpus import load_corpus
from ws_core.encoders import text_encoder_for_version
from ws_core.search import Searcher, active_model, load_model
from tests.conftest import table

QUERIES = ["A man is crossing a mountain pass on a metal bridge.", "a dog runs along the beach",
           "two women talking in a cafe", "красная машина на улице"]


def test_the_pack_scores_every_photo_as_its_model_does(db):
    con = wsdb.connect_read_only(db)
    models = table(con, "select model_id, name from models order by name")
    encoder = text_encoder_for_version(active_model(con)["text_encoder"])
    packed = []
    for model_id, name in models:
        entry = active_model(con, model_id)
        folder = searchpack.build(con, entry)
        if name in ("linear", "mlp"):          # the seed models read raw vectors: search loads them
            assert folder is None
            continue
        pack, scorer = searchpack.Pack(folder), load_model(entry)
        corpus, slot = load_corpus(con, entry["image_encoder"], entry["text_encoder"]).with_query_slot()
        rows = np.arange(len(corpus.images))
        assert pack.images == corpus.images
        for text in QUERIES:
            vector = encoder.encode([text])[0]
            corpus.text_vectors[slot], corpus.raw_texts[slot] = vector, text
            want = scorer.score(corpus, rows, np.full(len(rows), slot))
            np.testing.assert_allclose(pack.score(vector, text, rows), want, atol=1e-5, rtol=0)
        packed.append(name)
    con.close()
    assert packed == ["caption_transfer", "label_bridge", "pair_linear", "pair_linear_balanced", "pair_mlp",
                      "photo_transfer", "two_tower"]


def test_large_tables_read_by_rows_score_as_mapped_ones(db, monkeypatch, tmp_path):
    """With the thresholds at 0 every per-photo table but the stage-one index is read by rows (as
    at a large catalogue): the same scores for any rows, repeated and out of order too."""
    con = wsdb.connect_read_only(db)
    (pair,), = table(con, "select model_id from models where name = 'pair_mlp'")
    entry = active_model(con, pair)
    folder = searchpack.build(con, entry)
    vector = text_encoder_for_version(entry["text_encoder"]).encode([QUERIES[0]])[0]
    con.close()
    mapped = searchpack.Pack(folder)
    monkeypatch.setattr(searchpack, "READ_ROWS_MIN", 0)
    monkeypatch.setattr(searchpack, "WIDE_ROW", 0)
    by_rows = searchpack.Pack(folder)
    assert isinstance(by_rows.photo["photo."].feats, searchpack._Rows)
    assert isinstance(by_rows.tower.photo, searchpack._Rows) and isinstance(by_rows.label, searchpack._Rows)
    assert isinstance(by_rows.caption["cap_mean."].nbr, searchpack._Rows)
    assert isinstance(by_rows.tower.index, np.ndarray) and isinstance(mapped.tower.photo, np.ndarray)
    n = len(mapped.images)
    for rows in (np.arange(n), np.array([n - 1, 0, 5, 5, 3])):
        np.testing.assert_array_equal(by_rows.score(vector, QUERIES[0], rows), mapped.score(vector, QUERIES[0], rows))
    np.testing.assert_array_equal(by_rows.tower.photo[[2, 0]], mapped.tower.photo[[2, 0]])
    assert by_rows.tower.photo[[]].shape == (0, *mapped.tower.photo.shape[1:])

    np.save(tmp_path / "t.npy", np.arange(12, dtype=np.float32).reshape(4, 3))
    table_ = searchpack._Rows(tmp_path / "t.npy", np.load(tmp_path / "t.npy", mmap_mode="r"))
    with open(tmp_path / "t.npy", "r+b") as f:      # a file cut short after it was opened
        f.truncate(f.seek(0, 2) - 4)
    np.testing.assert_array_equal(table_[[2, 0]], [[6, 7, 8], [0, 1, 2]])
    with pytest.raises(OSError, match="^4-row table: row 3 cut short$"):
        table_[[1, 3]]


@pytest.mark.parametrize("candidates", [10, 1000])
def test_search_with_the_pack_answers_as_with_the_model(db, monkeypatch, candidates):
    """Both stages: with 10 candidates stage one recalls from the pack's index, hidden photos masked."""
    monkeypatch.setattr(search, "CANDIDATES", candidates)
    con = wsdb.connect_read_only(db)
    (pair,), = table(con, "select model_id from models where name = 'pair_mlp'")
    searchpack.build(con, active_model(con, pair))
    texts = [t for (t,) in table(con, "select text from texts where is_test_query order by text_id limit 30")]
    packed, loaded = Searcher(con, model_id=pair), Searcher(con, model_id=pair, use_pack=False)
    hidden = {im for (im,) in table(con, "select entity_id from policy_flags where entity_kind = 'photo'")}
    con.close()
    assert packed.pack is not None and loaded.pack is None and hidden
    ranked = 0
    for text in texts + QUERIES:
        a, b = packed.search(text, top=100), loaded.search(text, top=100)
        assert (a.disclaimer, a.notes) == (b.disclaimer, b.notes)
        got, want = {h.image: h.score for h in a.results}, {h.image: h.score for h in b.results}
        assert got.keys() == want.keys() and not got.keys() & hidden
        assert all(got[im] == pytest.approx(want[im], abs=1e-5) for im in got)
        assert [h.image for h in a.results][:3] == [h.image for h in b.results][:3]
        ranked += bool(got)
        assert len(got) <= candidates
    assert ranked >= 10


def test_a_pack_for_other_data_or_damaged_is_not_used(db):
    con = wsdb.connect_read_only(db)
    entry = active_model(con)
    folder = searchpack.build(con, entry)
    assert searchpack.Pack.open(con, entry).folder == folder
    want = Searcher(con, use_pack=False).search(QUERIES[0]).to_json()
    con.close()
    originals = {name: (folder / name).read_bytes() for name in ("meta.json", "label.photo.npy")}
    try:
        for name, original in originals.items():
            (folder / name).write_bytes(original[:len(original) // 2])
            con = wsdb.connect_read_only(db)
            assert searchpack.Pack.open(con, entry) is None
            searcher = Searcher(con)
            con.close()
            assert searcher.pack is None and searcher.search(QUERIES[0]).to_json() == want
            (folder / name).write_bytes(original)
    finally:        # the pack is shared with the other tests' copies of the database
        for name, original in originals.items():
            (folder / name).write_bytes(original)
    # a photo re-embedded (another file under the same name): the pack was built for other vectors
    con = wsdb.connect(db)
    con.execute("update image_embeddings set sha256 = 'another' where image = (select min(image) from photos)")
    assert searchpack.Pack.open(con, entry) is None
    assert searchpack.prepare(con).startswith(f"{entry['name']}: {entry['model_id']}-")
    assert searchpack.Pack.open(con, entry).folder not in (None, folder)
    con.close()


def test_ws_pack_builds_once_and_search_then_never_imports_torch(db, runner):
    con = wsdb.connect_read_only(db)
    entry = active_model(con)
    folder = searchpack.pack_root(entry) / searchpack.state_name(con, entry)
    con.close()
    assert runner.invoke(main, ["pack"]).output == "search pack: unchanged\n"      # the nightly built it
    shutil.rmtree(folder)
    out = runner.invoke(main, ["pack"])
    assert out.exit_code == 0, out.output
    assert re.fullmatch(rf"search pack: {entry['name']}: {re.escape(folder.name)} \(\d+ MB\)\n", out.stdout)
    assert json.loads((folder / "meta.json").read_text())["model_id"] == entry["model_id"]
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ws_core.cli", "search", QUERIES[1],
                           "--json", "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert {"ws_core.searchpack", "numpy"} <= imported
    assert not imported & {"torch", "transformers", "sklearn", "scipy", "ws_core.corpus", "ws_core.scorers"}
    assert len(json.loads(proc.stdout)["results"]) == 10


def test_the_pack_reads_the_catalogue_in_chunks_beside_a_bank_of_described_photos(db, monkeypatch):
    """Photos no text was written for (a photographer's catalogue) are read chunk by chunk, never
    into the corpus the bank comes from, and scored as the model scores them."""
    con = wsdb.connect(db)
    sources = [im for (im,) in table(con, "select image from photos order by image limit 3")]
    # copies under new names, no texts, first in the catalogue: every bank photo moves three rows on
    for t in ("photos", "image_embeddings", "image_labels"):
        con.execute(f"create temp table new_rows as select * from {t} where image in (?, ?, ?)", sources)
        con.execute("update new_rows set image = '00-' || image")
        con.execute(f"insert into {t} select * from new_rows")
        con.execute("drop table new_rows")
    (pair,), = table(con, "select model_id from models where name = 'pair_mlp'")
    entry = active_model(con, pair)
    monkeypatch.setattr(searchpack, "CHUNK", 10)                    # several chunks, the last one short
    pack = searchpack.Pack(searchpack.build(con, entry))
    corpus, slot = load_corpus(con, entry["image_encoder"], entry["text_encoder"]).with_query_slot()
    labelled = load_corpus(con, entry["image_encoder"], entry["text_encoder"], labelled_only=True)
    con.close()
    new = ["00-" + im for im in sources]
    assert pack.images == corpus.images and set(new) <= set(pack.images) and len(pack.images) % 10
    assert not set(new) & set(labelled.images) and len(labelled.images) == len(corpus.images) - 3
    vector = text_encoder_for_version(entry["text_encoder"]).encode([QUERIES[1]])[0]
    corpus.text_vectors[slot], corpus.raw_texts[slot] = vector, QUERIES[1]
    rows = np.arange(len(corpus.images))
    want = load_model(entry).score(corpus, rows, np.full(len(rows), slot))
    np.testing.assert_allclose(pack.score(vector, QUERIES[1], rows), want, atol=1e-5, rtol=0)


def test_batch_scoring_above_its_candidates_goes_through_the_pack(db, monkeypatch):
    """`ws score --photos all` with fewer candidates than photos reads the photos from the pack, as
    search does: per query the pack's stage one (the exact top 20 by the final tower's first member)
    and the model's own scores of them, ranked; the photos' vectors are never loaded whole."""
    from jobs.score import run_score
    con = wsdb.connect(db)
    (pair,), = table(con, "select model_id from models where name = 'pair_mlp'")
    last_message = "select message from job_runs where job = 'score' order by started_at desc limit 1"
    with monkeypatch.context() as m:                    # no current pack: the corpus path
        m.setattr(searchpack.Pack, "open", classmethod(lambda cls, con, model: None))
        assert run_score(con, "test", "all", pair, force=True, candidates=20).rows == 60 * 20
    assert table(con, last_message) == [(None,)]
    searchpack.build(con, active_model(con, pair))
    result = run_score(con, "test", "all", pair, force=True, candidates=20)
    assert (result.n_queries, result.n_photos, result.rows, result.through_pack) == (60, 74, 60 * 20, True)
    assert table(con, last_message) == [("through the search pack",)]
    got = con.execute("select query_id, image, score, rank from scores where run_id = ? order by query_id, rank",
                      [result.run_id]).df()
    entry = active_model(con, pair)
    pack, scorer = searchpack.Pack.open(con, entry), load_model(entry)
    corpus = load_corpus(con, entry["image_encoder"], entry["text_encoder"])
    con.close()
    dims = pack.tower.index.shape[1]
    for query_id, rows in got.groupby("query_id"):
        qproj = pack.projections(corpus.text_vectors[corpus.text_index[query_id]])
        top = search.top_candidates(pack.tower.index, qproj[0][:dims], 20)
        assert sorted(rows.image) == sorted(pack.images[i] for i in top)
        assert list(rows["rank"]) == list(range(1, 21)) and rows.score.is_monotonic_decreasing
    img = np.asarray([corpus.image_index[im] for im in got.image])
    txt = np.asarray([corpus.text_index[q] for q in got.query_id])
    np.testing.assert_allclose(got.score, scorer.score(corpus, img, txt).clip(0, 1), atol=1e-5, rtol=0)


def test_batch_scoring_of_descriptions_loads_the_corpus(db):
    """A description would meet itself in the pack's caption bank (the model leaves a text's own
    photo out): descriptions are scored from the corpus, whatever the candidates."""
    from jobs.score import run_score
    con = wsdb.connect(db)
    (pair,), = table(con, "select model_id from models where name = 'pair_mlp'")
    searchpack.build(con, active_model(con, pair))
    result = run_score(con, "descriptions", "all", pair, force=True, candidates=20)
    assert result.rows == result.n_queries * 20
    (message,), = table(con, "select message from job_runs where job = 'score' order by started_at desc limit 1")
    con.close()
    assert message != "through the search pack"
