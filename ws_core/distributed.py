"""The Ray engine (`ws embed --engine ray [--address ADDR]`): photo embedding spread over a Ray
cluster with Ray Data, for catalogues one machine cannot re-embed in reasonable time.

The photos to embed are cut into parts of PART_PHOTOS, each named by a digest of its photos and
their content hashes. An actor pool holds the encoder once per worker; each part is decoded and
embedded by the same code as the local engine (ws_core/embedding.py) and written as one Parquet file
(a temporary name renamed into place). The driver then loads every part in one transaction. A part
already on disk is not computed again, so a run killed at any moment loses nothing: its parts wait
for the rerun, and the database changes only in that last transaction. Ray retries a part whose
worker died (MAX_RETRIES). Optional: `pip install 'with-sense[ray]'`.
"""
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

PART_PHOTOS = 256
MAX_RETRIES = 3


def part_name(items: list[tuple[str, str, str]]) -> str:
    digest = hashlib.sha256("\n".join(f"{image}\t{sha}" for image, _, sha in items).encode()).hexdigest()
    return f"part-{digest[:24]}.parquet"


class PartEmbedder:
    """A Ray actor: the encoder loaded once, then parts embedded and written one by one."""

    def __init__(self, encoder: str, batch_size: int, folder: str):
        from .encoders import image_encoder
        self.encoder, self.batch_size, self.folder = image_encoder(encoder), batch_size, Path(folder)

    def __call__(self, batch: dict) -> dict:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .embedding import embed_images, top_labels
        names, rows = [], []
        for name, images, paths, shas in zip(batch["part"], batch["images"], batch["paths"], batch["shas"]):
            target = self.folder / name
            if not target.exists():
                cols = {"image": [], "sha256": [], "vector": [], "label_index": [], "label": [], "prob": [],
                        "failed": []}
                for out in embed_images(self.encoder, list(zip(images, paths, shas)), self.batch_size):
                    for image, reason in out.failed:
                        for key, value in (("image", image), ("sha256", None), ("vector", None), ("label_index", None),
                                           ("label", None), ("prob", None), ("failed", reason)):
                            cols[key].append(value)
                    if out.images:
                        idx, prob = top_labels(out.probs)
                        cols["image"] += out.images
                        cols["sha256"] += out.sha256
                        cols["vector"] += [v.astype(np.float32) for v in out.features]
                        cols["label_index"] += [i.astype(np.int16) for i in idx]
                        cols["label"] += [[self.encoder.labels[j] for j in i] for i in idx]
                        cols["prob"] += [p.astype(np.float32) for p in prob]
                        cols["failed"] += [None] * len(out.images)
                table = pa.table({
                    "image": pa.array(cols["image"], pa.string()), "sha256": pa.array(cols["sha256"], pa.string()),
                    "vector": pa.array(cols["vector"], pa.list_(pa.float32())),
                    "label_index": pa.array(cols["label_index"], pa.list_(pa.int16())),
                    "label": pa.array(cols["label"], pa.list_(pa.string())),
                    "prob": pa.array(cols["prob"], pa.list_(pa.float32())),
                    "failed": pa.array(cols["failed"], pa.string())})
                tmp = target.with_name(f".{name}.tmp{os.getpid()}")
                pq.write_table(table, tmp)
                os.replace(tmp, target)        # a part is on disk whole or not at all
            names.append(name)
            rows.append(len(images))
        return {"part": names, "photos": rows}


def embed_parts(items: list[tuple[str, str, str]], encoder: str, batch_size: int, folder: Path,
                address: str | None = None, workers: int | None = None, log=lambda m: None) -> tuple[list[Path], int]:
    """Every part of these photos on disk under `folder`; returns the parts' paths (in photo order)
    and how many were already there."""
    import ray
    folder.mkdir(parents=True, exist_ok=True)
    parts = [items[a:a + PART_PHOTOS] for a in range(0, len(items), PART_PHOTOS)]
    names = [part_name(p) for p in parts]
    reused = sum((folder / n).exists() for n in names)
    todo = [(n, p) for n, p in zip(names, parts) if not (folder / n).exists()]
    if todo:
        import logging
        logging.getLogger("ray").setLevel(logging.WARNING)       # our own line says what ran where
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(address=address, num_cpus=None if address else (workers or os.cpu_count()),
                     include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                     logging_level=logging.WARNING)
        try:
            pool = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
            ds = ray.data.from_items([{"part": n, "images": [i for i, _, _ in p], "paths": [q for _, q, _ in p],
                                       "shas": [s for _, _, s in p]} for n, p in todo],
                                     override_num_blocks=len(todo))
            for name in ("ray", "ray.data"):           # after init, which sets Ray's own levels
                logging.getLogger(name).setLevel(logging.WARNING)
            with warnings.catch_warnings():    # Ray 2.60 calls the restart settings deprecated, keeps them
                warnings.simplefilter("ignore")
                done = ds.map_batches(PartEmbedder, fn_constructor_args=(encoder, batch_size, str(folder)),
                                      batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(pool, len(todo))),
                                      num_cpus=1, max_restarts=MAX_RETRIES, max_task_retries=MAX_RETRIES)
            total = sum(int(row["photos"]) for row in done.iter_rows())
            log(f"ray: {len(todo)} parts, {total} photos on {min(pool, len(todo))} workers")
        finally:
            if started_here:
                ray.shutdown()
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        from .errors import WsError
        raise WsError(f"The Ray run left {len(missing)} parts unwritten (e.g. {missing[0]}); run again: "
                      "written parts are kept.")
    return [folder / n for n in names], reused
