"""Benchmarks (run by `ws bench ...`): print tables, never asserted in tests, timed against a baseline
measured in the same run because the machines are shared and noisy."""
import csv
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .embedding import embed_images
from .encoders import image_encoder, text_encoder
from .encoders.preprocess import load_rgb, to_batch, to_pixels
from .errors import WsError


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _photo_items(photos: list[Path]) -> list[tuple[str, str, str]]:
    import hashlib
    return [(p.name, str(p), hashlib.sha256(p.read_bytes()).hexdigest()) for p in photos]


def _naive(variant: str, photos: list[Path]) -> dict:
    """PIL one by one, eager PyTorch, one photo per forward pass, contiguous tensors."""
    enc = image_encoder(f"effnet-{variant}-eager")
    module = enc.run
    start = time.perf_counter()
    feats = []
    for p in photos:
        x = to_batch([to_pixels(load_rgb(p), enc.size)])
        feats.append(module(x)[0][0])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "features": np.stack(feats), "peak_mb": _peak_mb()}


def _shipped(variant: str, photos: list[Path], batch_size: int) -> dict:
    enc = image_encoder(f"effnet-{variant}")   # ONNX graph exported (and cached) before timing
    items = _photo_items(photos)
    start = time.perf_counter()
    feats = [b.features for b in embed_images(enc, items, batch_size)]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "features": np.concatenate(feats), "peak_mb": _peak_mb()}


def _texts(texts: list[str], batch_size: int) -> dict:
    from .embedding import embed_texts
    enc = text_encoder("minilm-l6")
    start = time.perf_counter()
    n = sum(len(ids) for ids, _ in embed_texts(enc, list(enumerate(texts)), batch_size))
    return {"seconds": time.perf_counter() - start, "n": n, "peak_mb": _peak_mb()}


def _gflops() -> float:
    """fp32 matrix throughput of this machine now (all cores), the compute roof for the encoders."""
    import torch
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    start, reps = time.perf_counter(), 10
    for _ in range(reps):
        a @ b
    return 2 * 2048**3 * reps / (time.perf_counter() - start) / 1e9


def _flops_per_photo(variant: str) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from .encoders.image import load_network
    from efficientnet_lite_pytorch import EfficientNet
    size = EfficientNet.get_image_size(f"efficientnet-{variant}")
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        load_network(variant)(torch.zeros(1, 3, size, size))
    return counter.get_total_flops()


def _isolated(fn, *args):
    """Run in a fresh process so that its peak memory is its own."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def embed_benchmark(variant: str, photo_dir: Path, descriptions: Path | None, limit: int,
                    batch_size: int) -> list[tuple[str, str]]:
    photos = sorted(photo_dir.glob("*.jpg"))[:limit]
    if not photos:
        raise SystemExit(f"no .jpg photos in {photo_dir}")
    shipped = _isolated(_shipped, variant, photos, batch_size)
    naive = _isolated(_naive, variant, photos)
    gflops = _isolated(_gflops)
    flops = _isolated(_flops_per_photo, variant)
    roof = gflops * 1e9 / flops
    n = len(photos)
    rows = [
        ("photos", str(n)),
        (f"naive eager {variant}, photos/s", f"{n / naive['seconds']:.1f}"),
        (f"shipped ONNX {variant} + decode overlap, photos/s", f"{n / shipped['seconds']:.1f}"),
        ("speed-up (shipped / naive)", f"{naive['seconds'] / shipped['seconds']:.2f}x"),
        ("matmul roof now, GFLOP/s", f"{gflops:.0f}"),
        (f"{variant} GFLOP per photo", f"{flops / 1e9:.2f}"),
        ("compute limit, photos/s", f"{roof:.0f}"),
        ("shipped / compute limit", f"{n / shipped['seconds'] / roof:.0%}"),
        ("peak RSS naive / shipped, MB", f"{naive['peak_mb']:.0f} / {shipped['peak_mb']:.0f}"),
        ("max |shipped - eager| feature", f"{np.abs(shipped['features'] - naive['features']).max():.2e}"),
    ]
    if descriptions:
        with open(descriptions, newline="", encoding="utf-8") as f:
            texts = [r["description"] for r in csv.DictReader(f, delimiter="\t")]
        t = _isolated(_texts, texts, 64)
        rows.append((f"texts/s (MiniLM-L6, {t['n']} texts)", f"{t['n'] / t['seconds']:.0f}"))
    return rows


LARGE_SIZE = (6000, 4000)      # 24 megapixels, a common full-frame camera's frame


def _full_decode(variant: str, photos: list[Path]) -> np.ndarray:
    """The same photos decoded at full size (no draft), for the tolerance check."""
    enc = image_encoder(f"effnet-{variant}")
    return np.concatenate([enc.run(to_batch([to_pixels(load_rgb(p), enc.size) for p in photos[a:a + 8]]))[0]
                           for a in range(0, len(photos), 8)])


def _ms_a_photo(photos: list[Path], decode) -> float:
    """Milliseconds a photo to read, hash and decode(bytes) it, on one thread with no network: the
    part of a photo's cost the network does not hide."""
    import hashlib
    start = time.perf_counter()
    for p in photos:
        data = p.read_bytes()
        hashlib.sha256(data).hexdigest()
        decode(data)
    return (time.perf_counter() - start) / len(photos) * 1000


def _decode_whole(data: bytes) -> None:
    """A full-size decode: how ingest checked a JPEG before it checked at reduced scale."""
    import io
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        im.load()


def large_photo_benchmark(variant: str, photo_dir: Path, limit: int, batch_size: int,
                          work_dir: Path) -> list[tuple[str, str]]:
    """The shipped embedding path on the photos as they are and on 24-megapixel JPEG copies of them
    (upscaled, quality 92), in the same run: photos/s of each, and how far the copies' vectors (decoded
    at reduced size by the codec) are from decoding them whole."""
    import io
    from PIL import Image
    from .ingest.photos import check_decodes
    photos = sorted(photo_dir.glob("*.jpg"))[:limit]
    if not photos:
        raise SystemExit(f"no .jpg photos in {photo_dir}")
    large = []
    for p in photos:
        out = work_dir / p.name
        with Image.open(p) as im:
            im.convert("RGB").resize(LARGE_SIZE, Image.BICUBIC).save(out, "JPEG", quality=92)
        large.append(out)
    _isolated(_shipped, variant, photos[:2], batch_size)           # export and cache the graph first
    small = _isolated(_shipped, variant, photos, batch_size)
    big = _isolated(_shipped, variant, large, batch_size)
    full = _isolated(_full_decode, variant, large)
    f, g = big["features"], full
    cos = (f * g).sum(axis=1) / (np.linalg.norm(f, axis=1) * np.linalg.norm(g, axis=1))
    n = len(photos)
    size = image_encoder(f"effnet-{variant}").size

    def for_embedding(data):        # as the embedding reader decodes
        return to_pixels(load_rgb(io.BytesIO(data), at_least=size), size)
    dec_small, dec_large = _ms_a_photo(photos, for_embedding), _ms_a_photo(large, for_embedding)
    # every stage keeps both cores busy, so a photo costs about its core-ms: the network's share is
    # the originals' core-ms less their decoding, and the copies can at best add only their decoding
    cores = os.cpu_count() or 1
    network = max(small["seconds"] / n * 1000 * cores - dec_small, 0.0)
    return [("photos", str(n)),
            ("originals (about 500 px), photos/s", f"{n / small['seconds']:.1f}"),
            (f"{LARGE_SIZE[0]}x{LARGE_SIZE[1]} JPEG copies, photos/s", f"{n / big['seconds']:.1f}"),
            ("large / originals", f"{small['seconds'] / big['seconds']:.0%}"),
            ("peak RSS originals / large, MB", f"{small['peak_mb']:.0f} / {big['peak_mb']:.0f}"),
            ("reduced vs full decode: min cosine", f"{cos.min():.4f}"),
            ("reduced vs full decode: max |feature difference|", f"{np.abs(f - g).max():.3f}"),
            ("read + hash + decode, one thread, ms a photo: originals / large", f"{dec_small:.1f} / {dec_large:.1f}"),
            (f"network, core-ms a photo ({cores} cores x the originals' time, less their decoding)", f"{network:.1f}"),
            ("bound on large / originals with this decoder (network + decode)",
             f"{(network + dec_small) / (network + dec_large):.0%}"),
            ("ingest's check (read + hash + decode), one thread, ms a photo: originals / large",
             f"{_ms_a_photo(photos, check_decodes):.1f} / {_ms_a_photo(large, check_decodes):.1f}"),
            ("the same, the large decoded at full size (before), ms a photo", f"{_ms_a_photo(large, _decode_whole):.1f}")]


def caption_transfer_recall(features: np.ndarray, desc_vecs: np.ndarray, k: int = 10) -> dict:
    """Train-only check of image features for retrieval. Each photo has 5 description vectors
    (desc_vecs: photos x 5 x d). Every description queries all photos; a photo is scored by the
    descriptions of its k nearest photos in feature space (weighted by similarity), never by those of
    the photo the query was written for. Returns R@1/5/10 of finding that photo."""
    n, m, _ = desc_vecs.shape
    f = features / np.linalg.norm(features, axis=1, keepdims=True)
    sim = f @ f.T
    np.fill_diagonal(sim, -np.inf)
    nbr = np.argsort(-sim, axis=1)[:, :k + 1]     # one spare: a query's own photo is dropped below
    w = np.zeros((n, n), dtype=np.float32)
    rows = np.arange(n)[:, None]
    w[rows, nbr] = np.maximum(sim[rows, nbr], 0)
    queries = desc_vecs.reshape(n * m, -1)
    owner = np.repeat(np.arange(n), m)
    # best match of each query among each photo's descriptions: queries x photos
    best = (queries @ desc_vecs.reshape(n * m, -1).T).reshape(n * m, n, m).max(axis=2)
    scores = best @ w.T
    # drop the query's own photo from every neighbourhood
    scores -= best[np.arange(n * m), owner][:, None] * w[:, owner].T
    scores /= np.maximum(w.sum(axis=1)[None, :] - w[:, owner].T, 1e-9)
    ranks = (scores > scores[np.arange(n * m), owner][:, None]).sum(axis=1) + 1
    return {f"R@{r}": float((ranks <= r).mean()) for r in (1, 5, 10)} | {"median rank": float(np.median(ranks))}


def encoder_comparison(photo_dir: Path, descriptions: Path, variants: list[str]) -> list[tuple]:
    with open(descriptions, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    by_photo: dict[str, list[str]] = {}
    for r in rows:
        by_photo.setdefault(r["image"], []).append(r["description"])
    photos = sorted(p for p in by_photo if (photo_dir / p).exists() and len(by_photo[p]) == 5)
    texts = text_encoder("minilm-l6")
    desc = np.stack([texts.encode(by_photo[p]) for p in photos])
    table = []
    for variant in variants:
        out = _isolated(_shipped, variant, [photo_dir / p for p in photos], 32)
        recall = caption_transfer_recall(out["features"], desc)
        table.append((variant, len(photos) / out["seconds"], *recall.values()))
    return table


def _percentiles(ms: list[float]) -> str:
    return f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f}"


def search_benchmark(db: Path, n_queries: int, synthetic: int, seed: int = 0) -> list[tuple[str, str]]:
    """Latency of `ws search` with the model loaded: the test queries over every indexed photo, and
    over `synthetic` random photo vectors in the two-tower's space (stage one over all of them, the
    1000 candidates re-ranked on real photos, since synthetic rows have no features to re-rank)."""
    from . import db as wsdb
    from .scorers import load_scorer
    from .search import CANDIDATES, Searcher, stage_one_dims, tower_of
    con = wsdb.connect_read_only(db)
    try:
        start = time.perf_counter()
        searcher = Searcher(con, use_pack=False)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        packed = Searcher(con)
        pack_s = time.perf_counter() - start
        texts = [t for (t,) in con.execute(
            "select text from texts where is_test_query order by text_id").fetchall()][:n_queries]
    finally:
        con.close()
    searcher.search(texts[0])                       # warm-up: first calls build the photo-side caches
    timings, plain, ranked = [], [], []
    for t in texts:
        start = time.perf_counter()
        result = searcher.search(t)
        timings.append((time.perf_counter() - start) * 1000)
        if not result.disclaimer:
            plain.append(t)
            ranked.append(timings[-1])
    disclaimers = len(texts) - len(plain)
    # baseline: the same search with a freshly loaded model per query (no photo-side caches)
    base = []
    for t in plain[:20]:
        searcher.scorer = load_scorer(Path(searcher.model["artifact"]))
        start = time.perf_counter()
        searcher.search(t)
        base.append((time.perf_counter() - start) * 1000)
    searcher.scorer = load_scorer(Path(searcher.model["artifact"]))
    rows = [("model", searcher.model["name"]), ("load model, vectors and policy, s", f"{load_s:.1f}"),
            ("load the search pack and policy instead, s", f"{pack_s:.2f}" if packed.pack else "no pack: `ws pack`")]
    if packed.pack is not None:
        with_pack = []
        for t in plain:
            start = time.perf_counter()
            packed.search(t)
            with_pack.append((time.perf_counter() - start) * 1000)
        rows.append(("search pack: ranked queries p50 / p95, ms (numpy, no torch)", _percentiles(with_pack)))
    rows += [
            ("photos indexed / shown (children rule on)", f"{len(searcher.corpus.images)} / {len(searcher.visible)}"),
            ("queries (disclaimers)", f"{len(texts)} ({disclaimers})"),
            ("model path: all queries p50 / p95, ms", _percentiles(timings)),
            ("model path: ranked queries p50 / p95, ms", _percentiles(ranked)),
            ("baseline: no photo-side cache, 20 queries p50, ms", f"{np.percentile(base, 50):.1f}"),
            ("speed-up over baseline (p50)", f"{np.percentile(base, 50) / np.percentile(ranked, 50):.1f}x")]
    # the rule off (a region without it): every photo ranked, child queries too
    shown, searcher.visible, searcher.rule = searcher.visible, np.arange(len(searcher.corpus.images)), False
    searcher.search(texts[0])
    every = []
    for t in texts:
        start = time.perf_counter()
        searcher.search(t)
        every.append((time.perf_counter() - start) * 1000)
    searcher.visible, searcher.rule = shown, True
    rows.append((f"rule off: all {len(searcher.corpus.images)} photos ranked, p50 / p95, ms", _percentiles(every)))
    tower = tower_of(searcher.scorer)
    if synthetic and tower is not None:
        rng = np.random.default_rng(seed)
        dim = stage_one_dims(tower)
        index = np.empty((synthetic, dim), dtype=np.float32)
        for i in range(0, synthetic, 100_000):        # in slices: bounded temporary memory
            block = rng.standard_normal((min(100_000, synthetic - i), dim), dtype=np.float32)
            index[i:i + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
        searcher.index = index
        searcher.index_rows = searcher.visible[np.arange(synthetic) % len(searcher.visible)]
        big = []
        for t in plain[:100]:
            start = time.perf_counter()
            searcher.search(t)
            big.append((time.perf_counter() - start) * 1000)
        rows += [(f"{synthetic:,} synthetic photo vectors ({dim}-d, {index.nbytes / 1e9:.1f} GB)",
                  f"{CANDIDATES} candidates re-ranked"),
                 (f"{len(big)} queries p50 / p95, ms", _percentiles(big))]
    return rows


def translated_queries(con, path: Path) -> list[tuple[str, str, str]]:
    """(query_id, the stored English query, its translation) for each row of a query_id<TAB>text file
    whose query_id is a stored test query."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = [(r["query_id"], r["text"]) for r in csv.DictReader(f, delimiter="\t")]
    english = dict(con.execute("select text_id, text from texts where is_test_query").fetchall())
    missing = [q for q, _ in rows if q not in english]
    if missing:
        raise WsError(f"{len(missing)} query ids of {path} are not test queries here (e.g. {missing[0]}).")
    return [(q, english[q], text) for q, text in rows]


def _without_dictionary(base, cross_map, use, texts: list[str]) -> list[tuple[str, np.ndarray]]:
    """The gloss alone and with the map, as where no English-Russian dictionary is installed (USE-m
    alone): beside the readings with it, when the map has one."""
    import dataclasses

    from .encoders.multilingual import QueryEncoder
    if not cross_map.dictionary:
        return []
    plain = QueryEncoder(base, dataclasses.replace(cross_map, translations="", dictionary=None), use)
    return [("translation, word gloss alone, no dictionary", plain.glossed(texts)),
            ("translation, map and word gloss, no dictionary", plain.encode(texts))]


def multilingual_benchmark(con, path: Path) -> list[tuple]:
    """Retrieval among the test photos (children rule off) of translated test queries, read by the
    English encoder, through the multilingual map alone and as search reads them (the map and the
    word gloss), beside the same queries in English (stored vectors, and through the map): R@1/5/10
    and MRR."""
    from . import metrics
    from .corpus import load_corpus
    from .encoders import text_encoder_for_version
    from .encoders.multilingual import QueryEncoder, load_map, use_encoder
    from .search import active_model, load_model
    from .training import score_matrix, test_queries
    rows = translated_queries(con, path)
    entry = active_model(con)
    corpus = load_corpus(con, entry["image_encoder"], entry["text_encoder"])
    model = load_model(entry)
    cross_map = load_map(con, entry["text_encoder"])
    if cross_map is None:
        raise WsError("No multilingual map in this database: run `ws embed` first.")
    base = text_encoder_for_version(entry["text_encoder"])
    _, photos, _ = test_queries(corpus)
    queries = np.asarray([corpus.text_index[q] for q, _, _ in rows])
    relevant = np.searchsorted(photos, corpus.text_photo[queries])
    english, translated = [e for _, e, _ in rows], [t for _, _, t in rows]
    use = use_encoder()
    # the English queries through the map too: what the map loses apart from the translation
    readings = [("english (stored vectors)", None, english),
                ("english, multilingual map", cross_map.apply(use.encode(english)), english),
                ("translation, english encoder", base.encode(translated), translated),
                ("translation, multilingual map alone", cross_map.apply(use.encode(translated)), translated),
                ("translation, word gloss alone", QueryEncoder(base, cross_map, use).glossed(translated), translated),
                ("translation, map and word gloss", QueryEncoder(base, cross_map, use).encode(translated),
                 translated)]
    readings += [(name, vectors, translated) for name, vectors in _without_dictionary(base, cross_map, use, translated)]
    stored_vectors, stored_texts = corpus.text_vectors, list(corpus.raw_texts)
    out = []
    for name, vectors, texts in readings:
        # each reading takes the English queries' rows in a private copy of the corpus
        corpus.text_vectors = stored_vectors.copy()
        corpus.raw_texts = list(stored_texts)
        if vectors is not None:
            corpus.text_vectors[queries] = vectors
        for q, t in zip(queries, texts):
            corpus.raw_texts[q] = t
        m = metrics.retrieval(score_matrix(model, corpus, queries, photos), relevant)
        out.append((name, len(queries), *(f"{m[k]:.3f}" for k in ("r_at_1", "r_at_5", "r_at_10", "mrr"))))
    return out


def map_dev_benchmark(con, path: Path, gloss_weights: tuple[float, ...] = ()) -> list[tuple]:
    """Translations of stored descriptions (a text_id<TAB>text file; never test queries, so the map's
    settings may be chosen on them) through the multilingual map alone, the word gloss alone, as search
    reads them (both) and with the gloss weighed by each of gloss_weights, and their English originals
    through the map: where each lands among every description's stored vector (R@1, R@10, MRR of its
    original) and its mean cosine to the original."""
    from .encoders import text_encoder_for_version
    from .encoders.multilingual import QueryEncoder, load_map, use_encoder
    from .search import active_model
    with open(path, encoding="utf-8", newline="") as f:
        rows = [(r["text_id"], r["text"]) for r in csv.DictReader(f, delimiter="\t")]
    entry = active_model(con)
    stored = con.execute("select t.text_id, t.text, e.vector from texts t join text_embeddings e "
                         "on e.text_id = t.text_id and e.encoder = ? where t.is_description order by t.text_id",
                         [entry["text_encoder"]]).fetchnumpy()
    index = {str(t): i for i, t in enumerate(stored["text_id"])}
    missing = [t for t, _ in rows if t not in index]
    if missing:
        raise WsError(f"{len(missing)} text ids of {path} are not stored descriptions here (e.g. {missing[0]}).")
    cross_map = load_map(con, entry["text_encoder"])
    if cross_map is None:
        raise WsError("No multilingual map in this database: run `ws embed` first.")
    vectors = np.stack(stored["vector"]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-9)
    target = np.asarray([index[t] for t, _ in rows])
    use = use_encoder()
    originals, translated = [str(stored["text"][i]) for i in target], [text for _, text in rows]
    base = text_encoder_for_version(entry["text_encoder"])
    readings = [("english original, multilingual map", cross_map.apply(use.encode(originals))),
                ("translation, multilingual map alone", cross_map.apply(use.encode(translated))),
                ("translation, word gloss alone", QueryEncoder(base, cross_map, use).glossed(translated)),
                ("translation, map and word gloss", QueryEncoder(base, cross_map, use).encode(translated))]
    readings += _without_dictionary(base, cross_map, use, translated)
    readings += [(f"translation, map and gloss x{w:g}", QueryEncoder(base, cross_map, use, w).encode(translated))
                 for w in gloss_weights]
    out = []
    for name, mapped in readings:
        sims = mapped @ vectors.T
        own = sims[np.arange(len(rows)), target]
        rank = (sims > own[:, None]).sum(axis=1) + 1
        out.append((name, len(rows), f"{np.mean(rank <= 1):.3f}", f"{np.mean(rank <= 10):.3f}",
                    f"{np.mean(1 / rank):.3f}", f"{own.mean():.3f}"))
    return out


def reader_loop(db: str, stop: str, out: str) -> None:
    """One reader process of `ws bench readers` (and its test): open, read one state, close, until the
    stop file appears; then write what it saw to `out` (JSON)."""
    import json
    from . import db as wsdb
    seen, failures, times = set(), [], []
    while not Path(stop).exists():
        start = time.perf_counter()
        try:
            con = wsdb.connect_read_only(Path(db))
            try:
                # texts and their vectors: equal counts in any one consistent state
                seen.add(con.execute("select (select count(*) from texts), (select count(*) from text_embeddings "
                                     "where text_id in (select text_id from texts))").fetchone())
            finally:
                con.close()
        except Exception as exc:                    # counted, not raised: the benchmark reports them
            failures.append(str(exc))
        times.append(time.perf_counter() - start)
    Path(out).write_text(json.dumps({"seen": sorted(seen), "reads": len(times), "failures": failures,
                                     "times": times}))


def readers_benchmark(db: Path, readers: int, job: list[str], work: Path) -> tuple[list[tuple], dict]:
    """`readers` processes read in a loop while `job` (a ws command line) runs; their reads, failures,
    states seen and latency, and the job's wall time."""
    import json
    import statistics
    import subprocess
    import sys
    stop = work / "stop"
    code = "import sys; from ws_core.bench import reader_loop; reader_loop(*sys.argv[1:])"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(stop), str(work / f"r{i}.json")])
             for i in range(readers)]
    try:
        time.sleep(1)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "ws_core.cli", *job, "--db", str(db)],
                              capture_output=True, text=True)
        job_s = time.perf_counter() - start
        time.sleep(1)
    finally:
        stop.touch()
        for p in procs:
            p.wait(timeout=300)
    results = [json.loads((work / f"r{i}.json").read_text()) for i in range(readers)]
    times = [t for r in results for t in r["times"]]
    failures = [f for r in results for f in r["failures"]]
    states = sorted({tuple(s) for r in results for s in r["seen"]})
    rows = [("job", " ".join(job)), ("job exit code", str(done.returncode)), ("job wall s", f"{job_s:.1f}"),
            ("reader processes", str(readers)), ("reads", str(len(times))), ("failed reads", str(len(failures))),
            ("states seen (texts, their vectors)", ", ".join(map(str, states))),
            ("read latency median / max, s", f"{statistics.median(times):.3f} / {max(times):.3f}")]
    return rows, {"failures": failures, "states": states, "job": done}
