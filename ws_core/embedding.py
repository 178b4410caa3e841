"""Batch embedding: reader (decode in a background thread) -> encoder -> batches for the writer.

Decoding the next batch overlaps inference on the current one; the encoder's runtime uses the cores.
"""
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .encoders.preprocess import PhotoError, load_rgb, to_batch, to_pixels

TOP_LABELS = 10  # ImageNet classes kept per photo (the label bridge uses the top 10, as ConSE does)


@dataclass
class ImageBatch:
    images: list[str] = field(default_factory=list)     # embedded photos, in row order
    sha256: list[str] = field(default_factory=list)
    features: np.ndarray | None = None
    probs: np.ndarray | None = None
    failed: list[tuple[str, str]] = field(default_factory=list)   # (image, reason)


DECODERS = 2


def _pixels(item: tuple[str, str, str], size: int) -> np.ndarray | str:
    """One photo's network input, or why it has none."""
    image, path, sha = item
    try:
        try:
            data = Path(path).read_bytes()
        except OSError:
            raise PhotoError("photo file is missing or unreadable; run `ws ingest` again") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise PhotoError("photo file changed since ingest; run `ws ingest` again")
        return to_pixels(load_rgb(io.BytesIO(data), at_least=size), size)
    except PhotoError as exc:
        return str(exc)


def _prepare(items: list[tuple[str, str, str]], size: int, decoders) -> tuple[ImageBatch, np.ndarray | None]:
    batch, arrays = ImageBatch(), []
    for (image, _, sha), out in zip(items, decoders.map(lambda it: _pixels(it, size), items)):
        if isinstance(out, str):
            batch.failed.append((image, out))
            continue
        arrays.append(out)
        batch.images.append(image)
        batch.sha256.append(sha)
    return batch, (to_batch(arrays) if arrays else None)


def embed_images(encoder, items: list[tuple[str, str, str]], batch_size: int) -> Iterator[ImageBatch]:
    """items: (image, path, sha256). Yields one ImageBatch per batch_size items."""
    chunks = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
    if not chunks:
        return
    # the next batch is decoded while the network runs this one; Pillow releases the GIL while it
    # decodes, so two decoder threads keep up with full-size camera JPEGs
    with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=DECODERS) as decoders:
        pending = pool.submit(_prepare, chunks[0], encoder.size, decoders)
        for k in range(len(chunks)):
            batch, x = pending.result()
            if k + 1 < len(chunks):
                pending = pool.submit(_prepare, chunks[k + 1], encoder.size, decoders)
            if x is not None:
                batch.features, batch.probs = encoder.run(x)
            yield batch


def top_labels(probs: np.ndarray, k: int = TOP_LABELS) -> tuple[np.ndarray, np.ndarray]:
    """Indices and probabilities of the k most probable classes per row, most probable first."""
    idx = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(probs, idx, axis=1)


def embed_texts(encoder, items: list[tuple[str, str]], batch_size: int) -> Iterator[tuple[list, np.ndarray]]:
    """items: (text_id, text). Sorted by length so that a batch pads little; yields (ids, vectors)."""
    order = sorted(items, key=lambda it: len(it[1]))
    for i in range(0, len(order), batch_size):
        chunk = order[i:i + batch_size]
        yield [tid for tid, _ in chunk], encoder.encode([t for _, t in chunk])
