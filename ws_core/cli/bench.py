from pathlib import Path

import click

from ..config import REPO_ROOT
from .common import db_option, user_errors

SHARED = REPO_ROOT.parent / "shared" / "data"
VARIANTS = ["lite0", "lite1", "lite2"]


def _table(rows, header=None):
    rows = [tuple(str(c) for c in r) for r in rows]
    if header:
        rows.insert(0, header)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        if header and n == 0:
            click.echo("  ".join("-" * w for w in widths))


@click.group()
def bench():
    """Benchmarks that print tables (speed as a ratio to a baseline measured in the same run)."""


@bench.command("embed")
@click.option("--variant", type=click.Choice(VARIANTS), default="lite2", show_default=True)
@click.option("--photos", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=SHARED / "with-sense" / "train_images", show_default=True)
@click.option("--descriptions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=SHARED / "photo-descriptions" / "photo_descriptions.tsv", show_default=True,
              help="Texts to time the text encoder on.")
@click.option("--limit", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--large", is_flag=True, help="Instead: the photos against 24-megapixel JPEG copies of them "
                                            "(decoded at reduced size), photos/s and vector agreement.")
def bench_embed(variant, photos, descriptions, limit, batch_size, large):
    """Photo embedding: naive eager baseline vs the shipped path, on the same photos."""
    if large:
        import tempfile

        from ..bench import large_photo_benchmark
        with tempfile.TemporaryDirectory() as tmp:
            _table(large_photo_benchmark(variant, photos, min(limit, 200), batch_size, Path(tmp)),
                   ("measure", "value"))
        return
    from ..bench import embed_benchmark
    _table(embed_benchmark(variant, photos, descriptions, limit, batch_size), ("measure", "value"))


@bench.command("engines")
@click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=SHARED / "with-sense", show_default=True, help="A data folder to ingest and embed.")
@click.option("--limit", type=click.IntRange(1), default=500, show_default=True, help="Photos (and texts) to embed.")
@click.option("--db", "db", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A trained database: also `ws score --queries test --photos all` and `ws policy run` (the "
                   "pixel flags) on both engines, each on a copy of it.")
def bench_engines(data_dir, limit, db):
    """`ws embed` on the local engine against `--engine ray` (a local Ray on this machine), on the same
    photos in the same run: wall time, photos/s, and how far the Ray engine's vectors are from the local ones.
    With --db, the same for the score job and the policy job (whole jobs; the policy job's pixel flags are
    what runs on Ray)."""
    import tempfile
    import time

    import numpy as np

    from jobs.embed import run_embed
    from jobs.ingest import run_ingest

    from .. import db as wsdb
    rows, vectors = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("local", "ray"):
            con = wsdb.connect(Path(tmp) / f"{engine}.duckdb")
            run_ingest(con, [data_dir], [])
            start = time.perf_counter()
            r = run_embed(con, "effnet-lite2", "minilm-l6", limit=limit, engine=engine, parts=Path(tmp) / "parts",
                          log=lambda m: click.echo(m, err=True))
            wall = time.perf_counter() - start
            vectors[engine] = con.execute("select image, vector from image_embeddings order by image").fetchnumpy()
            con.close()
            rows.append((engine, r.photos, r.texts, f"{wall:.1f}", f"{r.photos / wall:.1f}"))
    same = list(vectors["local"]["image"]) == list(vectors["ray"]["image"])
    diff = float(np.abs(np.stack(vectors["local"]["vector"]) - np.stack(vectors["ray"]["vector"])).max()) if same else None
    _table(rows, ("engine", "photos", "texts", "wall s (whole job)", "photos/s"))
    click.echo(f"same photos: {same}; max vector difference ray vs local: {diff}")
    if db is not None:
        _engines_on(db, lambda m: click.echo(m, err=True))


def _engines_on(db: Path, log) -> None:
    """`ws bench engines --db`: the score and policy jobs on both engines, on copies of a trained database."""
    import shutil
    import tempfile
    import time

    import numpy as np

    from jobs.nightly import CATALOGUE_CANDIDATES
    from jobs.policy import run_policy
    from jobs.score import run_score

    from .. import db as wsdb
    scores = "select query_id, image, rank, score from scores where run_id = ? order by 1, 3"
    flags = "select entity_id, score from policy_flags where source = 'pixels' order by entity_id"
    rows, got = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("local", "ray"):
            copy = Path(tmp) / f"{engine}.duckdb"
            shutil.copy(db, copy)
            con = wsdb.connect(copy)
            start = time.perf_counter()
            r = run_score(con, "test", "all", force=True, candidates=CATALOGUE_CANDIDATES, engine=engine,
                          parts=Path(tmp) / "parts", log=log)
            rows.append(("score test x all", engine, f"{time.perf_counter() - start:.1f}",
                         f"{r.n_queries} queries x {r.n_photos} photos, {r.rows} rows"))
            start = time.perf_counter()
            run_policy(con, force=True, log=log, engine=engine, parts=Path(tmp) / "parts")
            n = con.execute("select count(*) from image_embeddings").fetchone()[0]
            rows.append(("policy run", engine, f"{time.perf_counter() - start:.1f}", f"pixel flags of {n} photos"))
            got[engine] = (con.execute(scores, [r.run_id]).fetchall(), con.execute(flags).fetchall())
            con.close()
    _table(rows, ("job", "engine", "wall s (whole job)", "work"))
    (s_local, f_local), (s_ray, f_ray) = got["local"], got["ray"]
    by_pair = {r[:2]: r[2:] for r in s_ray}
    same = by_pair.keys() == {r[:2] for r in s_local} and [r[0] for r in f_local] == [r[0] for r in f_ray]
    if not same:
        click.echo("the engines wrote different (query, photo) rows or flagged different photos")
        return
    diff = max(max(abs(r[3] - by_pair[r[:2]][1]) for r in s_local),
               float(np.abs(np.asarray([r[1] for r in f_local]) - [r[1] for r in f_ray]).max(initial=0)))
    swapped = sum(r[2] != by_pair[r[:2]][0] for r in s_local)
    why = (" (near-ties: without a search pack the per-photo tables fill in blocks that depend on the queries "
           "a worker saw, and BLAS rounds a row by its block's shape)") if swapped else ""
    click.echo(f"same (query, photo) rows and flagged photos: True; max score difference ray vs local: {diff:.1e}; "
               f"rows ranked differently: {swapped} of {len(s_local)}{why}")


@bench.command("encoders")
@click.option("--photos", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=SHARED / "with-sense" / "train_images", show_default=True)
@click.option("--descriptions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=SHARED / "photo-descriptions" / "photo_descriptions.tsv", show_default=True)
def bench_encoders(photos, descriptions):
    """Image encoder variants: speed and train-only retrieval quality of their features.

    Quality: every description of a train photo queries all train photos, which are scored by the
    descriptions of their 10 nearest photos in feature space (caption transfer), never by the
    descriptions of the query's own photo. Test data is not touched.
    """
    from ..bench import encoder_comparison
    rows = encoder_comparison(photos, descriptions, VARIANTS)
    _table([(v, f"{s:.1f}", f"{r1:.3f}", f"{r5:.3f}", f"{r10:.3f}", f"{med:.0f}")
            for v, s, r1, r5, r10, med in rows],
           ("variant", "photos/s", "R@1", "R@5", "R@10", "median rank"))


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


@bench.command("cv")
@click.option("--model", "name", required=True, help="Model name from `ws train --help`.")
@click.option("--grid", multiple=True, metavar="PARAM=V1,V2,...",
              help="Hyperparameter values to try (repeatable; every combination is run).")
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option("--db", "db", type=click.Path(dir_okay=False), default=None,
              help="DuckDB file (default: $WS_DB, else ./ws.duckdb).")
def bench_cv(name, grid, folds, db):
    """Cross-validated metrics for hyperparameter settings (train data only; the test set is never
    read). This is how the defaults in ws_core/scorers were chosen."""
    import itertools

    from .. import db as wsdb
    from ..config import resolve_db
    from ..corpus import load_corpus
    from ..encoders import DEFAULT_IMAGE_ENCODER, DEFAULT_TEXT_ENCODER, image_encoder_version, text_encoder_version
    from ..training import MODELS, cross_validate, run_cache
    if name not in MODELS:
        raise click.BadParameter(f"choose one of {', '.join(MODELS)}", param_hint="--model")
    axes = []
    for g in grid:
        key, _, values = g.partition("=")
        axes.append([(key, _value(v)) for v in values.split(",")])
    con = wsdb.connect_read_only(resolve_db(db))
    corpus = load_corpus(con, image_encoder_version(DEFAULT_IMAGE_ENCODER),
                         text_encoder_version(DEFAULT_TEXT_ENCODER))
    con.close()
    rows, cache = [], run_cache()     # settings that leave the towers alone share them
    for combo in itertools.product(*axes) if axes else [()]:
        ev = cross_validate(corpus, name, folds, overrides=dict(combo), cache=cache)
        rows.append((" ".join(f"{k}={v}" for k, v in combo) or "(defaults)",
                     *(f"{ev.cv[m]:.3f}" for m in ("rmse", "tau_c", "tau_b", "r_at_1", "r_at_5", "r_at_10", "mrr")),
                     f"{ev.seconds:.0f}"))
        click.echo(f"{rows[-1][0]}: mrr {rows[-1][7]}", err=True)
    _table(rows, ("setting", "rmse", "tau_c", "tau_b", "R@1", "R@5", "R@10", "MRR", "s"))


def _median_wall(argv: list[str], runs: int) -> float:
    """Median wall time of a whole process, as a user meets it."""
    import statistics
    import subprocess
    import time
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


COLD_QUERIES = [("child query (no model loaded)", "two kids on a swing"),
                ("English query", "A man is crossing a mountain pass on a metal bridge."),
                ("Russian query", "мужчина переходит горный перевал по металлическому мосту")]


@bench.command("search")
@click.option("--queries", type=click.IntRange(1), default=500, show_default=True,
              help="How many test queries to time.")
@click.option("--synthetic", type=click.IntRange(0), default=1_000_000, show_default=True,
              help="Synthetic photo vectors for the large-catalogue case (0: skip).")
@click.option("--cold", is_flag=True, help="Instead: `ws search` as whole processes from a cold start "
                                           "(median of --runs), with the search pack and without it "
                                           "(--no-pack), beside a bare Python start.")
@click.option("--runs", type=click.IntRange(1), default=10, show_default=True, help="Processes per row with --cold.")
@db_option
@user_errors
def search_cmd(queries, synthetic, cold, runs, db):
    """Search latency with the model loaded: over the indexed photos and over many synthetic ones."""
    if cold:
        import sys

        from ..config import resolve_db
        base = _median_wall([sys.executable, "-c", "pass"], runs)
        rows = [("python -c pass (baseline)", f"{base:.2f}", "1.0")]
        # the search pack (what the nightly prepares) against loading the model, as before it
        for name, query, extra in [*[(n, q, []) for n, q in COLD_QUERIES],
                                   *[(f"{n}, --no-pack", q, ["--no-pack"]) for n, q in COLD_QUERIES[1:]]]:
            t = _median_wall([sys.executable, "-m", "ws_core.cli", "search", query, "--db", str(resolve_db(db)),
                              *extra], runs)
            rows.append((f"ws search: {name}", f"{t:.2f}", f"{t / base:.1f}"))
        _table(rows, ("process", "median s", "x baseline"))
        return
    from ..bench import search_benchmark
    _table(search_benchmark(db, queries, synthetic), header=("measure", "value"))


@bench.command("scale")
@click.option("--photos", default="10000,100000,1000000", show_default=True,
              help="Synthetic catalogue sizes, comma-separated (each above 1000: stage one recalls 1000).")
@click.option("--queries", type=click.IntRange(1), default=1000, show_default=True,
              help="Real query texts scored against each catalogue.")
@click.option("--model", default=None, help="A model id or name (default: the active model; it needs a two-tower).")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Scratch folder (default: a temporary one); each size's files are removed after it.")
@db_option
@user_errors
def scale(photos, queries, model, work, db):
    """Synthetic catalogues through every photo-side stage, one process per size: each stage's wall
    time and fitted growth exponent, peak RSS, search latency (both stages), stage one's recall.

    Needs a database with a trained pair model and a policy run (e.g. the full data's)."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    from ..config import resolve_db
    from ..scalebench import growth
    try:
        sizes = sorted({int(x) for x in photos.split(",") if x.strip()})
    except ValueError:
        raise click.BadParameter(f"{photos!r}: give whole numbers separated by commas", param_hint="--photos")
    if not sizes or sizes[0] <= 1000:
        raise click.BadParameter("every size must be above 1000 (stage one recalls 1000 photos)", param_hint="--photos")
    root = Path(work) if work else Path(tempfile.mkdtemp(prefix="ws-scale-"))
    results = []
    for n in sizes:
        folder = root / f"n{n}"
        click.echo(f"{n:,} photos ...", err=True)
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"n{n}.log", "w+") as log:
            proc = subprocess.Popen([sys.executable, "-c", "import sys; from ws_core.scalebench import main; "
                                     "main(sys.argv[1:])", str(resolve_db(db)), str(n), str(queries), str(folder),
                                     *([model] if model else [])],
                                    stdout=subprocess.PIPE, stderr=log, text=True)
            stdout = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)       # the child's own peak RSS
            shutil.rmtree(folder, ignore_errors=True)
            if os.waitstatus_to_exitcode(status) != 0:
                log.seek(0)
                raise click.ClickException(f"{n} photos failed: {(log.read().strip().splitlines() or ['?'])[-1]}")
        results.append({**json.loads(stdout.strip().splitlines()[-1]), "peak_rss_gb": usage.ru_maxrss / 1e6})
    if not work:
        shutil.rmtree(root, ignore_errors=True)
    header = ("stage", *[f"{n:,} s" for n in sizes], "growth exponent")
    rows = []
    for stage in dict.fromkeys(s for r in reversed(results) for s in r["seconds"]):   # the largest ran every stage
        secs = [r["seconds"].get(stage) for r in results]
        have = [(n, t) for n, t in zip(sizes, secs) if t is not None]
        b = growth([n for n, _ in have], [t for _, t in have])
        rows.append((stage, *["-" if t is None else f"{t:.1f}" for t in secs], "-" if b is None else f"{b:.2f}"))
    rows.append(("peak RSS, GB", *[f"{r['peak_rss_gb']:.2f}" for r in results], ""))
    for stage in dict.fromkeys(s for r in reversed(results) for s in r["peak after"]):
        rows.append((f"peak RSS after {stage}, GB",
                     *[f"{r['peak after'][stage]:.2f}" if stage in r["peak after"] else "-" for r in results], ""))
    rows.append(("search p50 / p95, ms", *[f"{r['search ms'][0]:.1f} / {r['search ms'][1]:.1f}" for r in results], ""))
    rows.append((f"search parts p50 ({' / '.join(results[0]['search parts ms'])}), ms",
                 *[" / ".join(f"{ms:.1f}" for ms in r["search parts ms"].values()) for r in results], ""))
    rows.append(("stage one: recall of the exact top 1000 (lists scanned)",
                 *[f"{r['stage one']['recall']:.3f} ({r['stage one']['nprobe']}/{r['stage one']['nlist']})"
                   if r.get("stage one") else "exact" for r in results], ""))
    rows.append(("photos flagged by the pixel classifier", *[f"{r['flagged']:,}" for r in results], ""))
    rows.append(("score rows written", *[f"{r['score rows']:,}" for r in results], ""))
    _table(rows, header)


@bench.command("ann")
@click.option("--photos", type=click.IntRange(2000), default=100_000, show_default=True,
              help="Vectors in the index (drawn around the pack's stage-one projections).")
@click.option("--model", default=None, help="A model id or name whose search pack to draw from (default: active).")
@db_option
@user_errors
def ann_cmd(photos, model, db):
    """Stage one's index: exact scan, faiss IVF (shipped), and HNSW graphs (faiss; hnswlib and usearch
    when installed) at 1000 candidates: build time, query latency, recall of the exact top 1000."""
    import numpy as np

    from .. import db as wsdb
    from ..scalebench import ann_comparison
    from ..search import active_model, model_by_name
    from ..searchpack import Pack
    con = wsdb.connect_read_only(db)
    try:
        pack = Pack.open(con, active_model(con, model_by_name(con, model)))
    finally:
        con.close()
    if pack is None or pack.tower is None:
        raise click.ClickException("No search pack with a two-tower for this model: run `ws pack` "
                                   "(with a pair model active) first.")
    _table(ann_comparison(np.asarray(pack.tower.index), photos),
           ("method", "build s", "query ms p50", "recall@1000"))


@bench.command("stages")
@click.option("--data", "data_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Data folders to ingest (default: the full data beside the repo, with more-photos).")
@click.option("--descriptions", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--folds", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="A new DuckDB file to build (it must not exist: the benchmark starts from empty).")
def bench_stages(data_dirs, descriptions, folds, db):
    """The nightly's stages from an empty database, each in its own process: wall time and peak RSS.

    Each stage is the `ws` command a user would run, so a stage's peak memory is its own."""
    import os
    import subprocess
    import sys
    import time

    from jobs.nightly import CATALOGUE_CANDIDATES
    if db.exists():
        raise click.BadParameter(f"{db} exists; the benchmark builds a new database", param_hint="--db")
    if not data_dirs:
        data_dirs = [SHARED / "with-sense", SHARED / "extra-photos", SHARED / "more-photos"]
        descriptions = descriptions or [SHARED / "photo-descriptions" / "photo_descriptions.tsv"]
    d = ["--db", str(db)]
    ingest = [a for x in data_dirs for a in ("--data", str(x))] + \
             [a for x in descriptions for a in ("--descriptions", str(x))]
    stages = [("ingest", ["ingest", *d, *ingest]), ("files", ["files", *d]), ("embed", ["embed", *d]),
              ("train", ["train", *d, "--folds", str(folds)]), ("policy", ["policy", "run", *d]),
              ("score test x test", ["score", *d]),
              ("score test x all", ["score", *d, "--photos", "all", "--candidates", str(CATALOGUE_CANDIDATES)]),
              ("report", ["report", *d])]
    rows, total = [], 0.0
    for name, args in stages:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "ws_core.cli", *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        err = proc.stderr.read()          # drained before waiting: a full pipe would block the stage
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        total += wall
        last = (err.strip().splitlines() or ["failed"])[-1]
        rows.append((name, f"{wall:.1f}", f"{usage.ru_maxrss / 1e6:.2f}", "ok" if proc.returncode == 0 else last))
        click.echo(f"{name}: {wall:.1f} s", err=True)
        if proc.returncode != 0:
            break
    rows.append(("total", f"{total:.1f}", "", ""))
    _table(rows, ("stage", "wall s", "peak RSS GB", "outcome"))


@bench.command("startup")
@click.option("--runs", type=click.IntRange(1), default=10, show_default=True, help="Processes per row.")
def bench_startup(runs):
    """How long `ws --help` and each command's --help take as whole processes (median of RUNS),
    beside a bare Python start in the same run."""
    import sys

    from . import main
    commands = [[]] + [[name] for name in sorted(main.commands)]

    def median(argv):
        return _median_wall(argv, runs)

    base = median([sys.executable, "-c", "pass"])
    rows = [("python -c pass (baseline)", f"{base:.3f}", "1.0")]
    for cmd in commands:
        t = median([sys.executable, "-m", "ws_core.cli", *cmd, "--help"])
        rows.append((" ".join(["ws", *cmd, "--help"]), f"{t:.3f}", f"{t / base:.1f}"))
    _table(rows, ("command", "median s", "x baseline"))


@bench.command("russian")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=REPO_ROOT / "tests" / "data" / "ru_test_queries.tsv", show_default=True,
              help="query_id<TAB>text: translations of test queries (the shipped file: 100 in Russian).")
@db_option
@user_errors
def bench_russian(path, db):
    """Translated test queries against the test photos (rule off), read by the English encoder, by
    the multilingual map alone and by the map with the word gloss (as search reads them), beside the
    same queries in English: R@1/5/10, MRR."""
    from ..bench import multilingual_benchmark
    _table(_read_only(db, multilingual_benchmark, path), ("queries read as", "n", "R@1", "R@5", "R@10", "MRR"))


@bench.command("russian-map")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=REPO_ROOT / "tests" / "data" / "ru_dev_descriptions.tsv", show_default=True,
              help="text_id<TAB>text: translations of stored descriptions (the shipped file: 100 train "
                   "descriptions of with-sense in Russian).")
@click.option("--gloss-weights", default="", metavar="W,W,...",
              help="Also read the translations with the word gloss weighed by each of these against the "
                   "map (shipped: 1).")
@db_option
@user_errors
def bench_russian_map(path, gloss_weights, db):
    """The multilingual map, alone and with the word gloss, on translations of train descriptions,
    never test queries (so its settings may be chosen here): how near each lands to its English
    original's stored vector among every description's, beside the original itself through the map."""
    from ..bench import map_dev_benchmark
    weights = _floats(gloss_weights, "--gloss-weights")
    _table(_read_only(db, map_dev_benchmark, path, weights), ("read as", "n", "R@1", "R@10", "MRR", "cosine"))


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: give numbers separated by commas", param_hint=option) from None
    if any(not v >= 0 for v in values):
        raise click.BadParameter(f"{text!r}: weights are 0 or more", param_hint=option)
    return values


def _read_only(db, benchmark, *args):
    """A benchmark's rows from the database opened read-only (closed whatever happens)."""
    from .. import db as wsdb
    from ..config import resolve_db
    con = wsdb.connect_read_only(resolve_db(db))
    try:
        return benchmark(con, *args)
    finally:
        con.close()


@bench.command("policy")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="One query a line (default: the shipped labelled queries).")
@click.option("--labelled", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=REPO_ROOT / "tests" / "data" / "policy_holdout.tsv", show_default=True,
              help="lang<TAB>asks_for_children<TAB>text with a header: recall and false alarms of the "
                   "stored check per language (the default: 70 queries written after the check "
                   "was trained, never trained on; tests/data/policy_holdout_2.tsv holds 105 more).")
@click.option("--runs", type=click.IntRange(1), default=5, show_default=True,
              help="Processes for the whole-process rows.")
@db_option
@user_errors
def bench_policy(path, labelled, runs, db):
    """The children check for queries: recall and false alarms on held-out labelled queries; load
    time, then each query alone (median and worst, ms) with the model loaded, beside the vocabulary
    alone; and `ws policy check` as a whole process beside a bare Python start."""
    import statistics
    import sys
    import time

    from .. import db as wsdb
    from .. import policy
    from ..config import resolve_db
    from ..policy import meaning
    texts = ([ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()] if path
             else list(meaning.load_labelled().text))
    con = wsdb.connect_read_only(resolve_db(db))
    try:
        start = time.perf_counter()
        check = policy.QueryCheck.load(con)
        check("warm up")                    # the encoder's first call builds its tokenizer
        loaded = time.perf_counter() - start
    finally:
        con.close()
    if check.model is None:
        raise click.ClickException("no trained query classifier in this database: run `ws policy run`")

    def per_query(fn):
        times = []
        for t in texts:
            s = time.perf_counter()
            fn(t)
            times.append((time.perf_counter() - s) * 1000)
        return statistics.median(times), max(times)

    import pandas as pd
    held = pd.read_csv(labelled, sep="\t", keep_default_na=False)
    held["child"] = [d.is_child for d in check.many(list(held.text))]
    rows = []
    for lang, g in held.groupby("lang"):
        asks = g.asks_for_children == 1
        rows += [(f"{lang}: recall on {asks.sum()} held-out child queries", f"{g.child[asks].mean():.3f}", ""),
                 (f"{lang}: false alarms on {(~asks).sum()} others", f"{g.child[~asks].mean():.3f}", "")]
    words_med, words_max = per_query(lambda t: policy.check(t, check.vocab))
    full_med, full_max = per_query(check)
    rows += [("load vocabulary, model and encoder (s)", f"{loaded:.2f}", ""),
            (f"vocabulary alone, one query (ms, {len(texts)} queries)", f"{words_med:.1f}", f"{words_max:.1f}"),
            ("vocabulary + classifier, one query (ms)", f"{full_med:.1f}", f"{full_max:.1f}")]
    base = _median_wall([sys.executable, "-c", "pass"], runs)
    t = _median_wall([sys.executable, "-m", "ws_core.cli", "policy", "check", "two kids on a swing", "--db",
                      str(resolve_db(db))], runs)
    rows += [("python -c pass (baseline, s)", f"{base:.2f}", ""),
             ("ws policy check TEXT, whole process (s)", f"{t:.2f}", f"x{t / base:.1f} baseline")]
    _table(rows, ("measure", "median", "max / ratio"))


@bench.command("publish")
@click.option("--runs", type=click.IntRange(1), default=3, show_default=True)
@db_option
@user_errors
def bench_publish(runs, db):
    """What publishing a snapshot for readers costs on this database: seconds (median of RUNS, each a
    checkpoint, a copy flushed to disk and the renames), beside reading the file once, and the disk
    the snapshots folder holds (the latest and the previous one)."""
    import statistics
    import time

    from .. import db as wsdb
    from .. import snapshot
    from ..config import resolve_db
    path = resolve_db(db)
    size = path.stat().st_size
    start = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(16 << 20):
            pass
    read_s = time.perf_counter() - start
    times = []
    con = wsdb.connect(path)
    try:
        for _ in range(runs):
            start = time.perf_counter()
            snapshot.publish(con, path, "bench")
            times.append(time.perf_counter() - start)
    finally:
        con.close()
    held = sum(f.stat().st_size for f in snapshot.folder(path).glob("*.duckdb") if not f.is_symlink())
    pub = statistics.median(times)
    _table([("database file (MB)", f"{size / 1e6:.1f}", ""),
            ("read the file once (s, baseline)", f"{read_s:.2f}", "1.0"),
            ("publish a snapshot (s)", f"{pub:.2f}", f"{pub / max(read_s, 1e-9):.1f}"),
            ("snapshots folder on disk (MB)", f"{held / 1e6:.1f}", "")], ("measure", "value", "x baseline"))


@bench.command("readers")
@click.option("--descriptions", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="New descriptions for the nightly to ingest (changed data: it embeds, retrains, scores).")
@click.option("--readers", type=click.IntRange(1), default=4, show_default=True)
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="A database the nightly may change (a copy: the run writes to it).")
def bench_readers(descriptions, readers, db):
    """READERS processes open the database, read and close in a loop while `ws nightly` runs on changed
    data: reads, failed reads, the states they saw, read latency, and the nightly's wall time."""
    import tempfile

    from ..bench import readers_benchmark
    with tempfile.TemporaryDirectory() as tmp:
        rows, _ = readers_benchmark(db, readers, ["nightly", "--descriptions", str(descriptions)], Path(tmp))
    _table(rows, ("measure", "value"))
