"""Ingest job: CSV/TSV annotations and photo files -> raw tables, with every bad row in quarantine."""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ws_core.db import staged, transaction
from ws_core.errors import WsError
from ws_core.ingest.photos import PHOTO_DIRS, scan_photos
from ws_core.ingest.readers import FileRead, Reject, read_file
from ws_core.ingest.specs import CROWD, DATA_FILES, DESCRIPTIONS, EXPERT, TEST_IMAGES
from ws_core.jobrun import job_run

ROLE_OF_KIND = {"train_queries": "is_train_query", "descriptions": "is_description",
                "test_queries": "is_test_query"}
ROLES = tuple(ROLE_OF_KIND.values())


@dataclass
class IngestResult:
    run_id: str
    rows_in: int
    rows_out: int
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def rejects_by_source(self) -> Counter:
        return Counter(r.source for r in self.rejects)


def run_ingest(con: duckdb.DuckDBPyConnection, data_dirs: list[Path],
               descriptions: list[Path] = ()) -> IngestResult:
    warnings: list[str] = []
    inputs = _plan(data_dirs, list(descriptions), warnings)
    with job_run(con, "ingest") as run:
        stored = {img: (sha, path, split) for img, sha, path, split in
                  con.execute("select image, sha256, path, split from photos").fetchall()}
        photo_records, present, photo_reads, reads = [], set(), [], []
        for data_dir in data_dirs:
            scan = scan_photos(data_dir, data_dir.resolve().name, stored)
            photo_records += scan.records
            present |= scan.present
            photo_reads += scan.folders
        for path, spec in inputs:
            read = read_file(path, spec, f"{path.resolve().parent.name}/{path.name}")
            reads.append(read)

        known_photos = present | set(stored)
        for read in reads:
            if read.kind in (EXPERT.kind, CROWD.kind, TEST_IMAGES.kind):
                _require_photos(read, known_photos)
        texts = _merge_texts(reads)
        expert = [row for read in reads if read.kind == EXPERT.kind for row in read.rows]
        crowd = [row for read in reads if read.kind == CROWD.kind for row in read.rows]
        reads = photo_reads + reads
        rejects = [r for read in reads for r in read.rejects]
        run.rows_in = sum(read.rows_read for read in reads)

        with transaction(con):
            run.rows_out += _upsert_photos(con, photo_records, run.run_id)
            run.rows_out += _upsert_texts(con, texts, run.run_id)
            run.rows_out += _upsert(con, "expert_annotations", expert,
                                    ("image", "query_id"), ("expert_1", "expert_2", "expert_3"),
                                    run.run_id)
            run.rows_out += _upsert(con, "crowd_annotations", crowd,
                                    ("image", "query_id"), ("share_yes", "n_yes", "n_no"), run.run_id)
            _record_reads(con, reads, run.run_id)
            if rejects:
                con.executemany("insert into quarantine (job_run_id, source, line_no, raw, reason) "
                                "values (?, ?, ?, ?, ?)",
                                [[run.run_id, r.source, r.line_no, r.raw, r.reason] for r in rejects])
        run.message = f"{len(rejects)} rows quarantined" if rejects else None
    return IngestResult(run.run_id, run.rows_in, run.rows_out, rejects, warnings)


def _plan(data_dirs: list[Path], descriptions: list[Path], warnings: list[str]) -> list[tuple[Path, object]]:
    """Which files to read, in order; a clear error for a folder or file that is not there, a warning
    for a photo folder that comes without its descriptions."""
    inputs = []
    for data_dir in data_dirs:
        if not data_dir.is_dir():
            raise WsError(f"Data folder {data_dir} does not exist or is not a folder.")
        found = [(data_dir / s.file_name, s) for s in DATA_FILES if (data_dir / s.file_name).is_file()]
        own = data_dir / DESCRIPTIONS.file_name
        if own.is_file() and not any(own.resolve() == d.resolve() for d in descriptions):
            descriptions.append(own)
        has_photos = any((data_dir / sub).is_dir() for sub, _ in PHOTO_DIRS)
        if not found and not has_photos and not own.is_file():
            names = ", ".join([s.file_name for s in DATA_FILES] + [s for s, _ in PHOTO_DIRS])
            raise WsError(f"Nothing to ingest in {data_dir}: expected any of {names}.")
        if has_photos and not found and not own.is_file():
            warnings.append(f"{data_dir} has photos but no {DESCRIPTIONS.file_name}: its photos load "
                            "without descriptions, so they teach nothing until one is ingested")
        inputs += found
    for d in descriptions:
        if not d.is_file():
            raise WsError(f"Descriptions file {d} does not exist.")
        inputs.append((d, DESCRIPTIONS))
    return inputs


def _require_photos(read: FileRead, known: set[str]) -> None:
    kept = []
    for row in read.rows:
        if row["image"] in known:
            kept.append(row)
        else:
            read.rejects.append(Reject(read.source, row["_line"], row["_raw"],
                                       f"photo {row['image']!r} is not in the photo folders "
                                       "nor loaded before"))
    read.rows = kept


def _merge_texts(reads: list[FileRead]) -> dict[str, dict]:
    """One row per text id with its roles; the first source of an id wins over a conflicting one."""
    texts: dict[str, dict] = {}
    for read in reads:
        role = ROLE_OF_KIND.get(read.kind)
        if role is None:
            continue
        kept = []
        for row in read.rows:
            tid = row["text_id"]
            have = texts.get(tid)
            if have is None:
                have = texts[tid] = {"text_id": tid, "image": row["written_for"], "text": row["text"],
                                     **{r: False for r in ROLES}, "_from": (read.source, row["_line"])}
            elif have["text"] != row["text"]:
                src, line = have["_from"]
                read.rejects.append(Reject(read.source, row["_line"], row["_raw"],
                                           f"text differs from an earlier one with the same id "
                                           f"({src} line {line}); the first is kept"))
                continue
            have[role] = True
            kept.append(row)
        read.rows = kept
    return texts


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=list(columns))


def _upsert(con, table: str, rows: list[dict], key: tuple[str, ...], values: tuple[str, ...],
            run_id: str) -> int:
    """Insert new rows, update changed ones, leave identical ones untouched. Returns rows written."""
    if not rows:
        return 0
    cols = ", ".join(key + values)
    changed = " or ".join(f"{table}.{c} is distinct from excluded.{c}" for c in values)
    sets = ", ".join(f"{c} = excluded.{c}" for c in values)
    # Identifiers come from this module's constants; values travel as a registered frame and ?.
    return _insert_staged(
        con, _frame(rows, key + values),
        f"insert into {table} ({cols}, job_run_id) select {cols}, ? from staged "
        f"on conflict ({', '.join(key)}) do update set {sets}, job_run_id = excluded.job_run_id "
        f"where {changed}",
        run_id)


def _insert_staged(con, frame: pd.DataFrame, sql: str, run_id: str) -> int:
    with staged(con, "staged", frame):
        return con.execute(sql, [run_id]).fetchone()[0]


def _upsert_photos(con, records: list[dict], run_id: str) -> int:
    for r in records:
        r["status"] = "ok"
    return _upsert(con, "photos", records, ("image",),
                   ("split", "dataset", "sha256", "bytes", "width", "height", "format", "status",
                    "path"), run_id)


def _upsert_texts(con, texts: dict[str, dict], run_id: str) -> int:
    if not texts:
        return 0
    # A role once given is kept: a text that is a description stays one when a query file repeats it.
    roles_set = ", ".join(f"{r} = texts.{r} or excluded.{r}" for r in ROLES)
    roles_new = " or ".join(f"(excluded.{r} and not texts.{r})" for r in ROLES)
    return _insert_staged(
        con, _frame(texts.values(), ("text_id", "image", "text") + ROLES),
        f"insert into texts (text_id, image, text, {', '.join(ROLES)}, job_run_id) "
        f"select text_id, image, text, {', '.join(ROLES)}, ? from staged "
        f"on conflict (text_id) do update set image = excluded.image, text = excluded.text, "
        f"{roles_set}, job_run_id = excluded.job_run_id "
        f"where texts.text is distinct from excluded.text or texts.image is distinct from excluded.image "
        f"or {roles_new}",
        run_id)


def _record_reads(con, reads: list[FileRead], run_id: str) -> None:
    con.executemany(
        "insert into ingest_files (job_run_id, source, kind, sha256, rows_read, rows_loaded, rows_quarantined) "
        "values (?, ?, ?, ?, ?, ?, ?)",
        [[run_id, r.source, r.kind, r.sha256, r.rows_read, len(r.rows), len(r.rejects)] for r in reads],
    )
