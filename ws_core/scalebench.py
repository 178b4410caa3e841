"""`ws bench scale`: synthetic catalogues of N photos through every photo-side stage, one process per
size (its peak RSS is its own), and each stage's growth exponent across the sizes.

A synthetic photo is a real photo's feature vector plus Gaussian noise (0.3 of each feature's spread
over the real photos) with that photo's ImageNet labels; the model, its bank of described photos and
the query texts are the real ones. Stages, as the nightly and search run them over a search pack:
the pack's photo side (caption-transfer neighbours, two-tower projections, label vectors), stage
one's index (ws_core/ann.py, from ANN_MIN photos), the policy's pixel flags, scoring the queries in
two stages into a DuckDB table, and search (query check, encoding, both stages) with the flagged
photos hidden.
"""
import json
import os
import time
from pathlib import Path

import numpy as np

from .errors import WsError

NOISE = 0.3
CHUNK = 20_000


def _peak_gb() -> float:
    """This process' peak resident memory so far (VmHWM), in GB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1e6


def _read_rows(path: Path, a: int, b: int) -> np.ndarray:
    """Rows a:b of an .npy file, read (not mapped: mapped pages would count as this process' memory)."""
    with open(path, "rb") as f:
        major, _ = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
        width = int(np.prod(shape[1:]))
        f.seek(f.tell() + a * width * dtype.itemsize)
        return np.fromfile(f, dtype=dtype, count=(b - a) * width).reshape(b - a, *shape[1:])


def run_size(db: Path, n: int, queries: int, work: Path, model: str | None = None, seed: int = 0) -> dict:
    """One catalogue of n synthetic photos; stage -> seconds, and what else the table reports.
    model: a model id or name (default: the active model)."""
    import duckdb

    from . import db as wsdb
    from . import policy, searchpack
    from .corpus import load_corpus
    from .search import CANDIDATES, Searcher, active_model, load_model, model_by_name, score_with_pack
    from .searchpack import _NpyWriter
    con = wsdb.connect_read_only(db)
    entry = active_model(con, model_by_name(con, model))
    scorer = load_model(entry)
    parts = searchpack._parts(scorer)
    if parts is None or "tower." not in parts["bridges"]:
        raise WsError(f"The model {entry['name']} has no search pack with a two-tower: pass --model pair_mlp "
                      "(or another pair model).")
    corpus = load_corpus(con, entry["image_encoder"], entry["text_encoder"])
    pixel = policy.pixel_model(con, entry["image_encoder"])
    if pixel is None:
        raise WsError("No stored pixel classifier: run `ws policy run` first.")
    # the test queries first, then descriptions (real texts all)
    rows = con.execute("select text_id, text from texts order by is_test_query desc, text_id limit ?",
                       [queries]).fetchall()
    texts = [t for _, t in rows]
    vectors = corpus.text_vectors[[corpus.text_index[q] for q, _ in rows]]
    work.mkdir(parents=True, exist_ok=True)
    times, out = {}, {"photos": n}
    rng = np.random.default_rng(seed)

    # stand-in for ingest and embed: the features written to disk, as the embed job stores them
    start = time.perf_counter()
    source = rng.integers(0, len(corpus.images), n)
    spread = corpus.features.std(axis=0) * NOISE
    writer = _NpyWriter(work / "features.npy", (n, corpus.features.shape[1]), np.float32)
    for a in range(0, n, CHUNK):
        src = source[a:a + CHUNK]
        writer.write(corpus.features[src] + rng.standard_normal((len(src), len(spread)), dtype=np.float32) * spread)
    writer.close()
    times["synthetic photos (stand-in for embed)"] = time.perf_counter() - start
    peaks = {"synthetic photos (stand-in for embed)": _peak_gb()}

    side = searchpack.PhotoSide(scorer, parts, corpus, np.full(len(corpus.images), -1))
    chunks = ((_read_rows(work / "features.npy", a, min(a + CHUNK, n)), corpus.label_probs[source[a:a + CHUNK]],
               np.arange(a, min(a + CHUNK, n))) for a in range(0, n, CHUNK))
    names = np.char.add("synthetic-", np.arange(n).astype(str))
    folder = searchpack.write(work / "packs", f"synthetic-{n}", side, names, np.zeros(n, dtype=np.int8), chunks,
                              {"model_id": entry["model_id"], "sha256": entry["sha256"]})
    meta = json.loads((folder / "meta.json").read_text())
    times["pack: transfer neighbours, projections"] = meta["seconds"]["photo side"]
    peaks["pack: transfer neighbours, projections"] = _peak_gb()
    if "stage one index" in meta["seconds"]:
        times["stage-one index (IVF)"] = meta["seconds"]["stage one index"]
        out["stage one"] = meta["stage_one"]
    del side, scorer, corpus

    start = time.perf_counter()
    flagged = [np.flatnonzero(policy.pixel_probability(pixel, _read_rows(work / "features.npy", a, min(a + CHUNK, n)))
                              >= pixel["threshold"]) + a for a in range(0, n, CHUNK)]
    flagged = np.concatenate(flagged)
    times["policy: pixel flags"] = time.perf_counter() - start
    peaks["policy: pixel flags"] = _peak_gb()
    out["flagged"] = len(flagged)
    # the photos' features are not what search reads: out of the page cache, as on a search machine
    # (here the 5 GB of features at a million photos pushed parts of the 14 GB pack out of it)
    if hasattr(os, "posix_fadvise"):
        fd = os.open(work / "features.npy", os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)

    pack = searchpack.Pack(folder)
    searcher = Searcher(con, model_id=entry["model_id"], pack=pack)
    con.close()
    searcher.hide(flagged)
    # what `ws score --photos all` does above its candidates (jobs/score.py): every photo, none hidden
    start = time.perf_counter()
    frame = score_with_pack(pack, [f"q{i:05d}" for i in range(len(texts))], texts, vectors, np.arange(n),
                            CANDIDATES, progress=False)
    scores = duckdb.connect(str(work / "scores.duckdb"))
    scores.register("frame", frame)
    scores.execute("create or replace table scores as select query_id, image, score, rank from frame")
    out["score rows"] = scores.execute("select count(*) from scores").fetchone()[0]
    scores.close()
    times[f"score {len(texts)} queries (two stages)"] = time.perf_counter() - start
    peaks[f"score {len(texts)} queries (two stages)"] = _peak_gb()

    searcher.search(texts[0])
    latency = []
    for text in texts:
        start = time.perf_counter()
        answered = searcher.search(text)
        if not answered.disclaimer:         # a child query is answered before stage one: not counted
            latency.append((time.perf_counter() - start) * 1000)
        if len(latency) == 100:
            break
    out["search ms"] = [float(np.percentile(latency, 50)), float(np.percentile(latency, 95))]
    # the same queries again, each part of a search timed alone (Searcher.search's steps)
    parts = {"query check": [], "encoder": [], "stage one": [], "re-rank": []}
    for text in texts:
        t0 = time.perf_counter()
        decision = searcher.check(text)
        if decision.is_child and searcher.rule:
            continue
        t1 = time.perf_counter()
        vector = searcher.encoder.encode([text])[0]
        t2 = time.perf_counter()
        qproj = pack.projections(vector)
        photos = searcher.candidates(qproj[0][:pack.tower.index.shape[1]])
        t3 = time.perf_counter()
        pack.score(vector, text, photos, qproj)
        for part, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3)):
            parts[part].append(seconds * 1000)
        if len(parts["re-rank"]) == 100:
            break
    out["search parts ms"] = {part: float(np.median(ms)) for part, ms in parts.items()}
    peaks["search"] = _peak_gb()
    out["seconds"], out["peak after"] = times, peaks
    return out


def main(argv: list[str]) -> None:
    """Entry point of one size's process: db n queries work [model] -> JSON on stdout."""
    db, n, queries, work, *model = argv
    print(json.dumps(run_size(Path(db), int(n), int(queries), Path(work), model[0] if model else None)))


def growth(sizes: list[int], seconds: list[float]) -> float | None:
    """The fitted exponent b of seconds ~ a * photos^b (None with fewer than two sizes)."""
    if len(sizes) < 2 or min(seconds) <= 0:
        return None
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def ann_comparison(index_rows: np.ndarray, n: int, k: int = 1000, queries: int = 50, seed: int = 0) -> list[tuple]:
    """Stage one's candidates for an index of n vectors drawn around `index_rows` (a pack's stage-one
    projections): exact scan, faiss IVF (ws_core/ann.py's settings), and HNSW graphs from faiss,
    hnswlib and usearch (those two when installed) at two search widths. Rows: (method, build s,
    query ms p50, recall of the exact top k)."""
    import tempfile

    from . import ann
    rng = np.random.default_rng(seed)
    dim = index_rows.shape[1]
    x = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        x[a:b] = index_rows[rng.integers(0, len(index_rows), b - a)] + rng.standard_normal((b - a, dim), dtype=np.float32) * 0.03
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = index_rows[rng.integers(0, len(index_rows), queries)] + rng.standard_normal((queries, dim), dtype=np.float32) * 0.05
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    start = time.perf_counter()
    exact = [np.argpartition(-(x @ v), k - 1)[:k] for v in q]
    rows = [("exact scan (numpy)", "-", f"{(time.perf_counter() - start) / queries * 1000:.1f}", "1.000")]

    def timed(name, build, search):
        start = time.perf_counter()
        handle = build()
        built = time.perf_counter() - start
        ms, found = [], []
        for v in q:
            start = time.perf_counter()
            found.append(search(handle, v))
            ms.append((time.perf_counter() - start) * 1000)
        recall = np.mean([len(np.intersect1d(f, e)) / k for f, e in zip(found, exact)])
        rows.append((name, f"{built:.1f}", f"{np.median(ms):.1f}", f"{recall:.3f}"))

    with tempfile.TemporaryDirectory() as tmp:
        settings = {}
        timed("faiss IVF (shipped: lists scanned for recall 0.99)",
              lambda: (settings.update(ann.build(x, Path(tmp) / "ivf.faiss", k)),
                       ann.Index(Path(tmp) / "ivf.faiss", settings["nprobe"]))[1],
              lambda h, v: h.search(v, k))
        rows[-1] = (f"{rows[-1][0]} nlist {settings['nlist']}, nprobe {settings['nprobe']}", *rows[-1][1:])
    import faiss
    for ef in (1000, 2000):
        def hnsw(ef=ef):
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.add(x)
            index.hnsw.efSearch = ef
            return index
        timed(f"faiss HNSW M32 ef {ef}", hnsw, lambda h, v: h.search(v[None], k)[1][0])
    try:
        import hnswlib
        for ef in (1000, 2000):
            def graph(ef=ef):
                index = hnswlib.Index(space="ip", dim=dim)
                index.init_index(max_elements=n, ef_construction=80, M=16)
                index.add_items(x, num_threads=2)
                index.set_ef(ef)
                return index
            timed(f"hnswlib M16 ef {ef}", graph, lambda h, v: h.knn_query(v[None], k=k, num_threads=1)[0][0])
    except ImportError:
        rows.append(("hnswlib", "not installed", "", ""))
    try:
        from usearch.index import Index
        for ef in (1000, 2000):
            def usearch(ef=ef):
                index = Index(ndim=dim, metric="ip", dtype="f32", connectivity=16, expansion_add=80)
                index.add(np.arange(n), x, threads=2)
                index.expansion_search = ef
                return index
            timed(f"usearch M16 ef {ef}", usearch, lambda h, v: h.search(v, k, threads=1).keys)
    except ImportError:
        rows.append(("usearch", "not installed", "", ""))
    return rows
