"""Photo-file check: every stored photo's file is still on disk and unchanged since ingest.

A photo whose file is missing or changed is marked in photos.status and kept out of search, scores and
the report; it comes back ('ok') when the same file returns. A changed file is taken up again by
ingesting its folder (a new sha256, embedded anew)."""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
from tqdm import tqdm

from ws_core.db import transaction
from ws_core.ingest.photos import file_state
from ws_core.jobrun import job_run


@dataclass
class FilesResult:
    checked: int
    states: dict[str, int]                                   # status -> photos now in it
    changed: list[tuple[str, str, str]] = field(default_factory=list)   # (image, before, now)

    def summary(self) -> str:
        bad = {s: n for s, n in self.states.items() if s != "ok"}
        back = sum(1 for _, before, now in self.changed if now == "ok")
        text = f"{self.states.get('ok', 0)} of {self.checked} photo files ok"
        if bad:
            example = next((im for im, _, now in self.changed if now != "ok"), None)
            text += "; " + ", ".join(f"{n} {s}" for s, n in sorted(bad.items()))
            text += " (kept out of search, scores and the report" + (f", e.g. {example}" if example else "") + ")"
        if back:
            text += f"; {back} came back"
        return text


def run_files(con: duckdb.DuckDBPyConnection) -> FilesResult:
    with job_run(con, "files") as run:
        rows = con.execute("select image, path, sha256, bytes, status from photos order by image").fetchall()
        run.rows_in = len(rows)
        # hashing releases the GIL: a few threads keep the disk busy
        with ThreadPoolExecutor(4) as pool:
            states = list(tqdm(pool.map(lambda r: file_state(r[1], r[2], r[3]), rows), total=len(rows),
                               desc="photo files", unit="photo", disable=None, leave=False))
        changed = [(r[0], r[4], s) for r, s in zip(rows, states) if s != r[4]]
        if changed:
            with transaction(con):
                con.executemany("update photos set status = ? where image = ?",
                                [[now, image] for image, _, now in changed])
        counts: dict[str, int] = {}
        for s in states:
            counts[s] = counts.get(s, 0) + 1
        result = FilesResult(len(rows), counts, changed)
        run.rows_out = len(changed)
        run.message = result.summary()
    return result
