"""Stage one's approximate index for large catalogues: faiss IVF (inverted lists of exact vectors).

Below ANN_MIN photos stage one stays an exact scan, so small catalogues rank exactly as before.
`ws bench ann` chose the library and the kind: stage one asks for 1000 candidates, a k at which HNSW
graphs (faiss, hnswlib, usearch) reached a recall of 0.91-0.97 of the exact top 1000 at 2-7 ms a
query on 100,000 photos, while an IVF index reaches 0.99 by scanning more lists; faiss also filters
by a bitmap inside the search (the photos a region may not see) and memory-maps a stored index.
"""
from pathlib import Path

import numpy as np

ANN_MIN = 100_000          # photos from which stage one searches an index instead of scanning all
RECALL_GOAL = 0.99         # of the exact top-k on sample queries, reached when the index is built
PROBES = (8, 16, 32, 64, 128, 256, 512)
K = 1000


def build(vectors: np.ndarray, path: Path, k: int = K, seed: int = 0) -> dict:
    """An IVF index over unit vectors (rows, read in chunks), written to `path`; the number of lists
    scanned is the smallest in PROBES whose recall of the exact top k on 50 sample rows (a little
    noise added: queries are not photos) reaches RECALL_GOAL. Returns its settings and recall."""
    import faiss
    n, dim = vectors.shape
    rng = np.random.default_rng(seed)
    # 4 sqrt(n) lists (faiss' guide: 4-16 sqrt(n)): at a million photos a scan of 128 of 4000 lists
    # found 0.997 of the exact top 1000 in 2.9 ms, against 9.3 ms for 128 of 1000 (ws bench ann)
    nlist = max(1, min(max(64, int(4 * np.sqrt(n))), n // 39))    # faiss trains on >= 39 rows a list
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(np.ascontiguousarray(vectors[np.sort(rng.choice(n, min(n, 50 * nlist), replace=False))],
                                     dtype=np.float32))
    for a in range(0, n, 100_000):
        index.add(np.ascontiguousarray(vectors[a:a + 100_000], dtype=np.float32))
    queries = np.asarray(vectors[np.sort(rng.choice(n, 50, replace=False))], dtype=np.float32)
    queries = queries + rng.standard_normal(queries.shape).astype(np.float32) * 0.05
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = exact_top(vectors, queries, k)
    for nprobe in PROBES:
        index.nprobe = nprobe
        found = index.search(queries, k)[1]
        recall = float(np.mean([len(np.intersect1d(f, e)) / k for f, e in zip(found, exact)]))
        if recall >= RECALL_GOAL or nprobe == PROBES[-1]:
            break
    faiss.write_index(index, str(path))
    return {"nlist": nlist, "nprobe": nprobe, "recall": recall, "k": k}


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k largest inner products per query (unordered), scanning in chunks."""
    best = np.full((len(queries), 0), -np.inf, dtype=np.float32), np.zeros((len(queries), 0), dtype=np.int64)
    for a in range(0, len(vectors), 200_000):
        sims = queries @ np.asarray(vectors[a:a + 200_000], dtype=np.float32).T
        sims = np.hstack([best[0], sims])
        rows = np.hstack([best[1], np.arange(a, a + sims.shape[1] - best[0].shape[1])[None].repeat(len(queries), 0)])
        keep = np.argpartition(-sims, min(k, sims.shape[1]) - 1, axis=1)[:, :k]
        best = np.take_along_axis(sims, keep, axis=1), np.take_along_axis(rows, keep, axis=1)
    return best[1]


class Index:
    """A stored IVF index, memory-mapped; search(query, k, shown) gives the k nearest shown rows."""

    def __init__(self, path: Path, nprobe: int):
        import faiss
        self.faiss, self.nprobe = faiss, nprobe
        self.index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP)

    def search(self, query: np.ndarray, k: int, shown: np.ndarray | None = None) -> np.ndarray:
        """Rows (ascending) of the k nearest; `shown` a bool per row: the others are never returned.
        Where the lists scanned hold fewer than k shown rows (hidden photos cluster: a region's
        children lie near each other) four times as many are scanned, up to all of them."""
        params, nprobe = {}, self.nprobe
        if shown is not None:
            bits = np.packbits(shown, bitorder="little")      # kept alive through the search
            params["sel"] = self.faiss.IDSelectorBitmap(len(shown), self.faiss.swig_ptr(bits))
        want = min(k, self.index.ntotal if shown is None else int(np.count_nonzero(shown)))
        while True:
            rows = self.index.search(np.asarray(query, dtype=np.float32)[None], k,
                                     params=self.faiss.SearchParametersIVF(nprobe=nprobe, **params))[1][0]
            rows = rows[rows >= 0]
            if len(rows) >= want or nprobe >= self.index.nlist:
                return np.sort(rows)
            nprobe = min(self.index.nlist, 4 * nprobe)
