"""The search pack: everything a pair model needs from the photo side, prepared once and memory-mapped
by every search process, with the model's small networks run in numpy.

A cold `ws search` used to import torch (1.7 s), unpickle the model (1.1 s), load the corpus (0.7 s)
and rebuild the transfers' neighbour tables and the towers' photo projections (2.3 s) before its first
answer. The pack holds those tables as .npy files (`ws nightly` and `ws train` build it; `ws pack` on
demand), and scoring a query against them gives the model's own scores (a test compares them).

A pack is named by the state it was built from: the model's id and file hash, and a digest of the photo
and text vectors the corpus reads. A search computes that name from the database it opened, so a
pack never answers for other data (or another snapshot); without a current pack search loads the
model as before. Packs are written to a temporary folder and renamed into place, never changed after.
"""
import hashlib
import json
import os
import shutil
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ann
from .numeric import Calibration, softmax_top, unit, word_weights

VERSION = 3
CHUNK = 20_000      # photos a build step computes at once: its memory stays bounded at any size
READ_ROWS_MIN = 64 << 20  # bytes from which a per-photo table of wide rows is read by rows, not mapped
WIDE_ROW = 1024           # bytes: narrower rows (neighbour lists) stay mapped, a pread each would cost more
KEEP = 3            # packs kept per model (older snapshots' readers may still use one)
FOLDER = "search-pack"


def state_name(con, model: dict) -> str:
    """The pack's folder name for this model over this database's vectors (a few ms of SQL)."""
    photos = con.execute(
        "select count(*), coalesce(bit_xor(hash(p.image || '/' || e.sha256)), 0) from photos p "
        "join image_embeddings e on e.image = p.image and e.encoder = ?", [model["image_encoder"]]).fetchone()
    texts = con.execute(
        "select count(*), coalesce(bit_xor(hash(t.text_id || '/' || e.text_sha256 || '/' || "
        "coalesce(t.image, '') || '/' || t.is_description::varchar || t.is_test_query::varchar)), 0) "
        "from texts t join text_embeddings e on e.text_id = t.text_id and e.encoder = ?",
        [model["text_encoder"]]).fetchone()
    key = json.dumps([VERSION, model["model_id"], model["sha256"], *photos, *texts])
    return f"{model['model_id']}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def pack_root(model: dict) -> Path:
    return Path(model["artifact"]).parent / FOLDER


# ---------------------------------------------------------------- reading (numpy only)

@dataclass
class _Caption:
    nbr: np.ndarray         # photos x (k + 2): nearest bank photos (positions in the bank)
    nbr_sim: np.ndarray
    desc: np.ndarray | None # bank descriptions' sentence vectors, (bank x width) x dims
    mask: np.ndarray        # bank x width: filled description slots
    k: int
    temperature: float
    aggregate: str
    words: "_Words | None" = None

    def score(self, q: np.ndarray, text: str, rows: np.ndarray, cosines) -> np.ndarray:
        cos = (self.words.cosines(text) if self.words else cosines(self.desc)).reshape(self.mask.shape)
        if self.aggregate == "max":
            by_bank = np.where(self.mask, cos, -np.inf).max(axis=1)
        else:
            by_bank = (cos * self.mask).sum(axis=1) / self.mask.sum(axis=1)
        sim = self.nbr_sim[rows]
        cand, w = softmax_top(self.nbr[rows], np.where(np.isfinite(sim), sim, -np.inf), self.k, self.temperature)
        return ((w * by_bank[cand]).sum(axis=1) + 1) / 2


@dataclass
class _Words:
    """A bank's TF-IDF word vectors by column (CSC), so a query's few words read only their columns."""
    column: dict
    idf: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    rows: int

    def cosines(self, text: str) -> np.ndarray:
        cols, weights = word_weights(text, self.column, self.idf)
        out = np.zeros(self.rows, dtype=np.float32)
        for c, w in zip(cols, weights):
            a, b = self.indptr[c], self.indptr[c + 1]
            out[self.indices[a:b]] += self.data[a:b] * w
        return out


@dataclass
class _Photo:
    bank_rows: np.ndarray   # bank descriptions' sentence vectors
    lender: np.ndarray      # per description: the catalogue row of the photo it was written for (-1: none)
    column: np.ndarray      # per description: its photo's row in bank_feats
    bank_feats: np.ndarray  # the bank photos' centred unit feature vectors
    feats: np.ndarray       # every catalogue photo's centred unit feature vector
    k: int
    temperature: float
    spare: int

    def score(self, q: np.ndarray, text: str, rows: np.ndarray, cosines) -> np.ndarray:
        cos = cosines(self.bank_rows)
        n_keep = min(self.k + self.spare, len(cos))
        part = np.argpartition(-cos, n_keep - 1)[:n_keep]
        banned = self.lender[part][None, :] == rows[:, None]     # a photo never lends to itself
        cand, w = softmax_top(np.broadcast_to(part, banned.shape), np.where(banned, -np.inf, cos[part][None]),
                              self.k, self.temperature)
        cols = self.column[cand]
        used, pos = np.unique(cols, return_inverse=True)
        sims = self.feats[rows] @ self.bank_feats[used].T             # only the lenders' columns
        return ((w * np.take_along_axis(sims, pos.reshape(cols.shape), axis=1)).sum(axis=1) + 1) / 2


@dataclass
class _Tower:
    photo: np.ndarray       # every photo's projection by the tower that scores it
    which: np.ndarray       # per photo: 0 the final tower, i > 0 the inner tower that never saw it
    txt_w: np.ndarray       # towers x members x dim x text dims
    txt_b: np.ndarray       # towers x members x dim
    index: np.ndarray       # stage one: the final tower's first member's projection of every photo

    def project(self, q: np.ndarray) -> np.ndarray:
        """The text's joined projection by every tower: towers x (members * dim)."""
        out = np.einsum("tmdk,k->tmd", self.txt_w, q) + self.txt_b
        out /= np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
        return out.reshape(len(out), -1) / np.sqrt(self.txt_w.shape[1])

    def score(self, qproj: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return (np.einsum("ij,ij->i", self.photo[rows], qproj[self.which[rows]]) + 1) / 2


class _Rows:
    """A large per-photo table read by rows (one pread each) instead of mapped. A mapped row costs a
    page fault that maps the page-cache folio around it (about 320 KB a row here, counted in this
    process' RSS until handed back): 1000 rows of 5 KB took 7 ms to gather and 3 ms to hand back,
    against 3.5 ms read; nothing of it stays resident."""

    def __init__(self, path: Path, mapped: np.memmap):
        self.shape, self.dtype, self.offset = mapped.shape, mapped.dtype, mapped.offset
        self.row_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        self.fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self.fd)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.dtype)
        if not out.size:
            return out
        view, size = memoryview(out).cast("B"), self.row_bytes
        for i, at in enumerate((self.offset + rows * size).tolist()):
            if os.preadv(self.fd, [view[i * size:(i + 1) * size]], at) != size:
                raise OSError(f"{self.shape[0]}-row table: row {rows[i]} cut short")
        return out


class Pack:
    """A model's photo side over one catalogue; score(query vector, query text, photo rows)."""

    def __init__(self, folder: Path):
        meta = json.loads((folder / "meta.json").read_text())
        # one mapping per file (bridges that share a bank share its arrays), as plain arrays: numpy's
        # memmap subclass costs a Python call per indexing
        maps = {name: np.load(folder / name, mmap_mode="r", allow_pickle=False) for name in set(meta["files"].values())}
        self.folder, self.meta = folder, meta
        self.images = [str(im) for im in np.load(folder / "images.npy", allow_pickle=False)]
        # large per-photo tables of wide rows are read by rows (_Rows); the stage-one index is read
        # whole (a scan, or faiss), narrow rows stay mapped: resident at most the table's size
        by_rows = set(meta["per_photo"]) - {meta["files"].get("tower.index")}
        loaded = {name: _Rows(folder / name, m) if (name in by_rows and m.nbytes >= READ_ROWS_MIN
                                                     and m.nbytes >= WIDE_ROW * len(m)) else m.view(np.ndarray)
                  for name, m in maps.items()}
        arr = {key: loaded[name] for key, name in meta["files"].items()}
        self.signals = meta["signals"]
        self.caption, self.photo = {}, {}
        for prefix, b in meta["bridges"].items():
            get = lambda name: arr.get(prefix + name)    # noqa: E731
            if b["kind"] == "caption":
                words = None
                if b["words"]:
                    vocab = meta["vocabularies"][prefix]
                    words = _Words({w: i for i, w in enumerate(vocab)}, np.asarray(get("idf")), get("indptr"),
                                   get("indices"), get("data"), int(b["desc_rows"]))
                self.caption[prefix] = _Caption(get("nbr"), get("nbr_sim"), get("desc"), np.asarray(get("mask")),
                                                b["k"], b["temperature"], b["aggregate"], words)
            elif b["kind"] == "photo":
                self.photo[prefix] = _Photo(get("bank_rows"), np.asarray(get("lender")), np.asarray(get("column")),
                                            np.asarray(get("bank_feats")), get("feats"), b["k"],
                                            b["temperature"], b["spare"])
        self.tower = (_Tower(arr["tower.photo"], arr["tower.which"], np.asarray(arr["tower.txt_w"]),
                             np.asarray(arr["tower.txt_b"]), arr["tower.index"]) if "tower.photo" in arr else None)
        self.label = arr.get("label.photo")
        self.stage_one = meta.get("stage_one")     # an approximate index for stage one (ws_core/ann.py)
        self.head = meta["head"]
        if self.head != "signal":
            self.mean, self.std = np.asarray(arr["head.mean"]), np.asarray(arr["head.std"])
            self.net = {k: np.asarray(arr[f"head.{k}"]) for k in ("w1", "b1", "w2", "b2", "coef") if f"head.{k}" in arr}
            self.intercept = meta.get("intercept")
            self.calibration = Calibration(np.asarray(arr["cal.x"]), np.asarray(arr["cal.y"]), meta["cal_scale"])

    @classmethod
    def open(cls, con, model: dict) -> "Pack | None":
        """The current pack for this model over this database, or None (search then loads the model)."""
        folder = pack_root(model) / state_name(con, model)
        if not (folder / "meta.json").is_file():
            return None
        try:
            return cls(folder)
        except (OSError, ValueError, KeyError):     # a damaged pack: the model answers instead
            return None

    def ann_index(self) -> "ann.Index | None":
        return None if not self.stage_one else ann.Index(self.folder / "stage_one.faiss", self.stage_one["nprobe"])

    def projections(self, q: np.ndarray) -> np.ndarray | None:
        """The query's joined projection by every tower (row 0: the final one; None: no tower)."""
        return None if self.tower is None else self.tower.project(np.asarray(q, dtype=np.float32))

    def stage_one(self, qproj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The stage-one index (unit photo projections, memory-mapped) and the query's row for it."""
        index = self.tower.index
        return index, qproj[0][:index.shape[1]]

    def score(self, q: np.ndarray, text: str, rows: np.ndarray, qproj: np.ndarray | None = None) -> np.ndarray:
        """The model's score of each photo row for this query (vector q, words `text`)."""
        q = np.asarray(q, dtype=np.float32)
        qproj = self.projections(q) if qproj is None else qproj
        seen = {}

        def cosines(bank: np.ndarray) -> np.ndarray:
            """The query against a bank's description vectors, once per bank (they share one)."""
            if id(bank) not in seen:
                seen[id(bank)] = (q[None] @ bank.T)[0]
            return seen[id(bank)]
        cols = {}
        for name in self.signals:
            if name in self.caption:
                cols[name] = self.caption[name].score(q, text, rows, cosines)
            elif name in self.photo:
                cols[name] = self.photo[name].score(q, text, rows, cosines)
            elif name == "tower.":
                cols[name] = self.tower.score(qproj, rows)
            elif name == "label.":
                cols[name] = (self.label[rows] @ q + 1) / 2
            elif name == "text_length":
                cols[name] = np.full(len(rows), np.log1p(len(text.split())))
        x = np.column_stack([cols[n] for n in self.signals])
        if self.head == "signal":
            return x[:, 0].astype(np.float64)
        z = (x - self.mean) / self.std
        if self.head == "mlp":
            w1, b1, w2, b2 = self.net["w1"], self.net["b1"], self.net["w2"], self.net["b2"]
            members, hidden = w1.shape[0], w1.shape[2]
            # the members' first layers side by side as one product (numpy's stacked matmul over a
            # 2-d operand was 40 ms for 1000 rows), in place
            h = z.astype(np.float32) @ w1.transpose(1, 0, 2).reshape(w1.shape[1], -1)
            h += b1.reshape(1, -1)
            np.maximum(h, 0, out=h)
            out = h.reshape(len(z), members, hidden).transpose(1, 0, 2) @ w2 + b2      # members x rows x 1
            raw = (0.5 * (1 + np.tanh(0.5 * out[..., 0]))).mean(axis=0)     # sigmoid without overflow
        else:
            raw = z @ self.net["coef"] + self.intercept
        return self.calibration.predict(raw)


# ---------------------------------------------------------------- building (loads the model)

def prepare(con, log=lambda m: None) -> str:
    """Build the active model's pack unless a current one exists; a one-line outcome."""
    from .search import active_model
    if not con.execute("select count(*) from models where is_active").fetchone()[0]:
        return "no active model: nothing to prepare"
    model = active_model(con)
    if (pack_root(model) / state_name(con, model) / "meta.json").is_file():
        return "unchanged"
    folder = build(con, model, log)
    if folder is None:
        return f"{model['name']} cannot be packed: search loads the model"
    size = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    return f"{model['name']}: {folder.name} ({size:.0f} MB)"


def build(con, model: dict | None = None, log=lambda m: None) -> Path | None:
    """Prepare the pack of the active model (or `model`) unless a current one exists; its folder,
    or None for a model kind search cannot pack (it then loads the model, as before)."""
    from .search import active_model, load_model
    model = model or active_model(con)
    root = pack_root(model)
    folder = root / state_name(con, model)
    if (folder / "meta.json").is_file():
        return folder
    scorer = load_model(model)
    parts = _parts(scorer)
    if parts is None:
        return None
    from .corpus import load_corpus
    started = time.perf_counter()
    # the model's banks from the photos texts were written for; the catalogue, every photo, in chunks
    catalogue = [str(im) for im in con.execute(
        "select p.image from photos p join image_embeddings e on e.image = p.image and e.encoder = ? "
        "order by p.image", [model["image_encoder"]]).fetchnumpy()["image"]]
    row = {im: i for i, im in enumerate(catalogue)}
    corpus = load_corpus(con, model["image_encoder"], model["text_encoder"], labelled_only=True)
    side = PhotoSide(scorer, parts, corpus, np.asarray([row[im] for im in corpus.images], dtype=np.int64))
    inner = {row[n]: i for i, (_, (names, _)) in enumerate(sorted(parts["inner"].items()), start=1)
             for n in names if n in row}
    which = np.asarray([inner.get(r, 0) for r in range(len(catalogue))], dtype=np.int8)
    del corpus
    write(root, folder.name, side, catalogue, which, _catalogue_chunks(con, model["image_encoder"], catalogue),
          {"model_id": model["model_id"], "sha256": model["sha256"]})
    log(f"search pack {folder.name}: {len(catalogue)} photos in {time.perf_counter() - started:.1f} s")
    return folder


def _catalogue_chunks(con, image_encoder: str, catalogue: list[str]):
    """(features, label probabilities, catalogue rows) of CHUNK photos at a time, in catalogue order."""
    from .corpus import dense_labels
    join = "from photos p join image_embeddings e on e.image = p.image and e.encoder = ? where p.image between ? and ?"
    for a in range(0, len(catalogue), CHUNK):
        names = catalogue[a:a + CHUNK]
        got = con.execute(f"select p.image, e.vector {join} order by p.image",
                          [image_encoder, names[0], names[-1]]).fetchnumpy()
        if [str(im) for im in got["image"]] != names:
            raise RuntimeError("the photos changed while the search pack was built; run `ws pack` again")
        probs = dense_labels(con.execute("select image, label_index, prob from image_labels "
                                         "where encoder = ? and image between ? and ?",
                                         [image_encoder, names[0], names[-1]]).fetchnumpy(),
                             {im: i for i, im in enumerate(names)})
        yield np.stack(got["vector"]).astype(np.float32), probs, np.arange(a, a + len(names))


def write(root: Path, name: str, side: "PhotoSide", images, which: np.ndarray, chunks, meta: dict) -> Path:
    """Write a pack: the model's bank-side arrays once, the photo-side arrays chunk by chunk (each
    chunk: features, label probabilities, catalogue rows), into a temporary folder renamed into place."""
    root.mkdir(parents=True, exist_ok=True)
    folder, tmp = root / name, root / f".{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        np.save(tmp / "images.npy", np.asarray(images))
        np.save(tmp / "tower.which.npy", which)
        files, by_digest = {"tower.which": "tower.which.npy"}, {}
        for key, value in side.arrays.items():
            value = np.ascontiguousarray(value)
            digest = hashlib.sha1(value.tobytes() + str((value.dtype, value.shape)).encode()).hexdigest()
            if digest not in by_digest:           # the two caption transfers share a bank: one file
                by_digest[digest] = f"{key}.npy"
                np.save(tmp / by_digest[digest], value)
            files[key] = by_digest[digest]
        writers: dict[str, _NpyWriter] = {}
        started = time.perf_counter()
        for features, label_probs, rows in chunks:
            for key, value in side.photos(features, label_probs, rows, which[rows]).items():
                if key not in writers:
                    writers[key] = _NpyWriter(tmp / f"{key}.npy", (len(which), *value.shape[1:]), value.dtype)
                writers[key].write(value)
        for key, w in writers.items():
            w.close()
            files[key] = f"{key}.npy"
        files.update({alias: files[key] for alias, key in side.aliases.items()})
        seconds = {"photo side": time.perf_counter() - started}
        stage_one, started = None, time.perf_counter()
        if len(which) >= ann.ANN_MIN and "tower.index" in files:     # a large catalogue: an index
            stage_one = ann.build(np.load(tmp / files["tower.index"], mmap_mode="r"), tmp / "stage_one.faiss")
            seconds["stage one index"] = time.perf_counter() - started
        (tmp / "meta.json").write_text(json.dumps({**side.meta, **meta, "version": VERSION, "photos": len(which),
                                                   "files": files, "stage_one": stage_one,
                                                   "per_photo": sorted(f"{key}.npy" for key in writers),
                                                   "seconds": seconds}))
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep=folder)
    return folder


class _NpyWriter:
    """An .npy file written row block by row block (never mapped: its pages do not count as ours)."""

    def __init__(self, path: Path, shape: tuple, dtype):
        self.f, self.rows, self.shape = open(path, "wb"), 0, shape
        np.lib.format.write_array_header_1_0(self.f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                      "fortran_order": False, "shape": shape})

    def write(self, block: np.ndarray) -> None:
        self.f.write(np.ascontiguousarray(block).tobytes())
        self.rows += len(block)

    def close(self) -> None:
        self.f.close()
        if self.rows != self.shape[0]:
            raise ValueError(f"{self.f.name}: {self.rows} rows written of {self.shape[0]}")


def _parts(scorer) -> dict | None:
    """A model as the pack sees it: its bridges by signal name, the label bridge, the inner towers,
    the signals in the head's order and the head; None for what it cannot pack (the seed models)."""
    from .scorers.bridges import CaptionTransfer, LabelBridge, PhotoTransfer, TwoTower
    from .scorers.pair import PairScorer
    if isinstance(scorer, PairScorer):
        parts = dict(bridges=dict(scorer.bridges), label=scorer.label, inner=scorer.inner,
                     signals=scorer.signal_names(), head=scorer.params.head)
    else:       # a bridge alone: its signal is the score
        prefix = {LabelBridge: "label.", TwoTower: "tower.", CaptionTransfer: "cap.", PhotoTransfer: "photo."}.get(type(scorer))
        if prefix is None:
            return None
        parts = dict(bridges={} if prefix == "label." else {prefix: scorer},
                     label=scorer if prefix == "label." else None, inner={}, signals=[prefix], head="signal")
    if any(isinstance(b, PhotoTransfer) and b.params.words for b in parts["bridges"].values()):
        return None
    return parts


class PhotoSide:
    """A model's photo side, for any photos: the arrays fixed by the model and its bank of described
    photos (`arrays`, read from `corpus`), and per chunk of catalogue photos their rows of every
    per-photo table (`photos`). `catalogue_rows`: each corpus photo's row in the catalogue (-1: not
    in it; `ws bench scale`'s synthetic photos are none of the bank's); the corpus' own rows if None."""

    def __init__(self, scorer, parts: dict, corpus, catalogue_rows: np.ndarray | None = None):
        from scipy import sparse

        from .scorers.bridges import CaptionTransfer, PhotoTransfer, TwoTower
        self.arrays, self.aliases, self.caption, self.photo, self.towers = {}, {}, {}, {}, []
        self.meta = {"signals": parts["signals"], "head": parts["head"], "bridges": {}, "vocabularies": {}}

        def outside(rows):       # corpus rows (-1: none) -> catalogue rows, to leave a photo's own out
            rows = np.asarray(rows)
            return rows if catalogue_rows is None else np.where(rows >= 0, catalogue_rows[np.maximum(rows, 0)], -1)
        for prefix, b in parts["bridges"].items():
            p = b.params
            if isinstance(b, CaptionTransfer):
                photos, desc, mask, _ = b.bank(corpus)
                key = (p.k, b.feature_mean.tobytes())
                same = next((q for q, c in self.caption.items() if c[0] == key), None)
                if same is None:     # the two caption transfers share their neighbours: computed once
                    self.caption[prefix] = (key, min(p.k + 2, len(photos)), b.feature_mean,
                                            unit(corpus.features[photos] - b.feature_mean), outside(photos))
                else:
                    self.aliases.update({prefix + "nbr": same + "nbr", prefix + "nbr_sim": same + "nbr_sim"})
                self.arrays[prefix + "mask"] = mask
                if p.words:
                    csc = sparse.csc_matrix(desc, dtype=np.float32)
                    self.arrays.update({prefix + "indptr": csc.indptr, prefix + "indices": csc.indices,
                                        prefix + "data": csc.data, prefix + "idf": b.words.idf})
                    self.meta["vocabularies"][prefix] = b.words.vocabulary
                else:
                    self.arrays[prefix + "desc"] = desc
                self.meta["bridges"][prefix] = {"kind": "caption", "k": p.k, "temperature": p.temperature,
                                                "aggregate": p.aggregate, "words": p.words, "desc_rows": desc.shape[0]}
            elif isinstance(b, PhotoTransfer):
                texts, _, lender, column, _ = b.photo_sim(corpus)
                self.photo[prefix] = b.feature_mean
                self.arrays.update({prefix + "bank_rows": corpus.text_vectors[texts], prefix + "lender": outside(lender),
                                    prefix + "column": column,
                                    prefix + "bank_feats": unit(corpus.features[np.unique(lender)] - b.feature_mean)})
                self.meta["bridges"][prefix] = {"kind": "photo", "k": p.k, "temperature": p.temperature,
                                                "spare": b.SPARE}
            elif isinstance(b, TwoTower):
                self.towers = [b] + [t for _, (_, t) in sorted(parts["inner"].items())]
                self.arrays.update({
                    "tower.txt_w": np.stack([[net.txt.weight.detach().numpy() for net in t.nets] for t in self.towers]),
                    "tower.txt_b": np.stack([[net.txt.bias.detach().numpy() for net in t.nets] for t in self.towers])})
        self.class_vectors = None if parts["label"] is None else parts["label"].class_vectors
        if parts["head"] != "signal":
            self.arrays.update({"head.mean": scorer.mean, "head.std": scorer.std,
                                "cal.x": scorer.calibration.x, "cal.y": scorer.calibration.y})
            self.meta["cal_scale"] = float(scorer.calibration.scale)
        if parts["head"] == "mlp":
            self.arrays.update({f"head.{k}": getattr(scorer.net, k).detach().numpy() for k in ("w1", "b1", "w2", "b2")})
        elif parts["head"] == "linear":
            self.arrays["head.coef"] = np.asarray(scorer.coef)
            self.meta["intercept"] = float(scorer.intercept)

    def photos(self, features: np.ndarray, label_probs: np.ndarray, rows: np.ndarray, which: np.ndarray) -> dict:
        """These catalogue photos' rows of every per-photo table (`which`: the tower that scores each)."""
        out = {}
        for prefix, (_, n_keep, mean, bank, bank_rows) in self.caption.items():
            nbr = np.empty((len(rows), n_keep), dtype=np.int32)
            nbr_sim = np.empty((len(rows), n_keep), dtype=np.float32)
            for a in range(0, len(rows), 2048):          # photos x bank cosines: about 60 MB at a time
                sim = unit(features[a:a + 2048] - mean) @ bank.T
                sim[rows[a:a + 2048, None] == bank_rows[None, :]] = -np.inf      # not its own neighbour
                part = np.argpartition(-sim, n_keep - 1, axis=1)[:, :n_keep]
                nbr[a:a + 2048], nbr_sim[a:a + 2048] = part, np.take_along_axis(sim, part, axis=1)
            out[prefix + "nbr"], out[prefix + "nbr_sim"] = nbr, nbr_sim
        for prefix, mean in self.photo.items():
            out[prefix + "feats"] = unit(features - mean)
        if self.towers:
            final = self.towers[0]._project_features(features)
            photo = final.copy()
            for i, tower in enumerate(self.towers[1:], start=1):
                held = which == i
                if held.any():
                    photo[held] = tower._project_features(features[held])
            out["tower.photo"], out["tower.index"] = photo, final[:, :self.towers[0].params.dim]
        if self.class_vectors is not None:
            out["label.photo"] = unit(label_probs @ self.class_vectors)
        return out


def _prune(root: Path, keep: Path) -> None:
    """Keep the newest KEEP packs of each model whose weights are still there (readers of an older
    snapshot may still open one); leftovers of a killed build go too."""
    packs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
                   key=lambda d: d.stat().st_mtime, reverse=True)
    seen: dict[str, int] = {}
    for d in packs:
        model_id = d.name.rsplit("-", 1)[0]
        seen[model_id] = seen.get(model_id, 0) + 1
        if d != keep and (seen[model_id] > KEEP or not (root.parent / f"{model_id}.pt").exists()):
            shutil.rmtree(d, ignore_errors=True)
    for d in root.glob(".*.tmp-*"):
        try:
            os.kill(int(d.name.rsplit("-", 1)[1]), 0)      # its builder still runs
        except (ProcessLookupError, ValueError):
            shutil.rmtree(d, ignore_errors=True)
        except PermissionError:
            pass
