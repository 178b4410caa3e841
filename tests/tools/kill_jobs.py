"""Kill test: start each job on the shipped sample, SIGKILL it at a random moment, run it again to the
end, and check that the database opens and every table holds exactly what a clean run leaves, with
nothing duplicated. Prints one line per trial and a summary; exit code 1 if any trial differs.

    python -m tests.tools.kill_jobs [--trials 20] [--seed 0]

Bookkeeping that differs by design is not compared: the job_runs table (a killed run leaves an
'interrupted' row) and columns that carry run ids, model ids, timestamps or durations.
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from ws_core.config import SAMPLE_DIR

WS = [str(Path(sys.executable).parent / "ws")]   # the installed console script
VOLATILE = {"job_run_id", "run_id", "model_id", "started_at", "finished_at", "trained_at", "created_at",
            "applied_at", "granted_at", "seconds", "artifact", "read_at"}
# per-run logs: a killed run that got past a stage leaves its rows, and the rerun adds its own
SKIP_TABLES = {"job_runs", "ingest_files"}
JOBS = {  # job -> (state it starts from, command)
    "ingest": ("empty", ["ingest", "--data", str(SAMPLE_DIR)]),
    "embed": ("ingested", ["embed", "--batch-size", "8"]),
    "train": ("embedded", ["train", "--folds", "3"]),
    "score": ("trained", ["score", "--queries", "descriptions", "--photos", "all"]),
    "nightly": ("empty", ["nightly", "--data", str(SAMPLE_DIR), "--folds", "3"]),
}


def ws(db: Path, args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "WS_DB": str(db), "TQDM_DISABLE": "1"}
    return subprocess.Popen([*WS, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, **kw)


def run(db: Path, args: list[str]) -> float:
    start = time.perf_counter()
    p = ws(db, args)
    _, err = p.communicate()
    if p.returncode != 0:
        raise SystemExit(f"`ws {' '.join(args)}` failed ({p.returncode}): {err.decode()[-2000:]}")
    return time.perf_counter() - start


def copy_db(src: Path | None, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src is not None:
        shutil.copy(src, dst)


def snapshot(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "order by table_name").fetchall() if t not in SKIP_TABLES]
        out = {}
        for t in tables:
            cols = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_name = ? "
                "order by ordinal_position", [t]).fetchall() if c not in VOLATILE]
            # names come from the catalogue, not from users
            out[t] = con.execute(f'select {", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)} from "{t}"').df()
        return out
    finally:
        con.close()


def differences(got: dict, want: dict) -> list[str]:
    problems = []
    for t, w in want.items():
        g = got.get(t)
        if g is None:
            problems.append(f"{t}: missing")
            continue
        if len(g) != len(w):
            problems.append(f"{t}: {len(g)} rows, clean run {len(w)}")
            continue
        # arrays and blobs cannot be sort keys (unhashable); they are compared below
        keys = [c for c in w.columns if w[c].dtype.kind not in "f"
                and not isinstance(w[c].iloc[0] if len(w) else 0, (np.ndarray, bytes, bytearray))]
        g = g.sort_values(keys, kind="stable").reset_index(drop=True) if keys else g
        w = w.sort_values(keys, kind="stable").reset_index(drop=True) if keys else w
        for c in w.columns:
            a, b = g[c].to_numpy(), w[c].to_numpy()
            if len(b) and isinstance(b[0], np.ndarray) and b[0].dtype.kind in "fiub":
                same = np.allclose(np.stack(a), np.stack(b), atol=1e-4)
            elif len(b) and isinstance(b[0], np.ndarray):                    # lists of texts
                same = [list(x) for x in a] == [list(x) for x in b]
            elif b.dtype.kind == "f":
                same = np.allclose(a.astype(float), b.astype(float), atol=1e-6, equal_nan=True)
            else:
                same = list(map(repr, a)) == list(map(repr, b))     # NULLs compare equal
            if not same:
                problems.append(f"{t}.{c}: content differs from the clean run")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", default=",".join(JOBS), help="comma-separated subset of " + ", ".join(JOBS))
    args = ap.parse_args(argv)
    jobs = args.jobs.split(",")
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="ws-kill-"))
    try:
        states = {"empty": None}
        base = work / "base" / "ws.duckdb"
        order = ["empty", "ingested", "embedded", "trained"]
        needed = max(order.index(JOBS[j][0]) for j in jobs)     # build only the states in use
        for name, step in list((("ingested", ["ingest", "--data", str(SAMPLE_DIR)]), ("embedded", ["embed"]),
                                ("trained", ["train", "--folds", "3"])))[:needed]:
            run(base, step)
            if name == "trained":
                run(base, ["policy", "run"])
            states[name] = work / "states" / f"{name}.duckdb"
            copy_db(base, states[name])
        clean, seconds = {}, {}
        for job in jobs:
            start_state, cmd = JOBS[job]
            db = work / "clean" / job / "ws.duckdb"
            copy_db(states[start_state], db)
            seconds[job] = run(db, cmd)
            clean[job] = snapshot(db)
        failures = killed = 0
        for i in range(args.trials):
            job = jobs[i % len(jobs)]
            start_state, cmd = JOBS[job]
            db = work / "trial" / f"{i}" / "ws.duckdb"
            copy_db(states[start_state], db)
            delay = rng.uniform(0.05, 0.95) * seconds[job]
            p = ws(db, cmd)
            try:
                p.wait(timeout=delay)
                outcome = "finished before the kill"
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                killed += 1
                outcome = f"killed at {delay:.1f} s"
            run(db, cmd)
            problems = differences(snapshot(db), clean[job])
            failures += bool(problems)
            rows = sum(len(f) for f in clean[job].values())
            print(f"trial {i + 1:>2} {job:<8} {outcome:<24} rerun ok; {rows} rows compared: "
                  + ("identical" if not problems else "; ".join(problems)), flush=True)
        print(f"{args.trials} trials, {killed} SIGKILLs, {failures} with differences (rows lost or changed)")
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
