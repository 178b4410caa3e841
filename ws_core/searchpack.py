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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .numeric import Calibration, softmax_top, unit, word_weights

VERSION = 1
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

    def score(self, q: np.ndarray, text: str, rows: np.ndarray) -> np.ndarray:
        cos = (self.words.cosines(text) if self.words else (q[None] @ self.desc.T)[0]).reshape(self.mask.shape)
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
    lender: np.ndarray      # per description: the photo (row) it was written for
    column: np.ndarray      # per description: its photo's position among bank_photos
    bank_photos: np.ndarray # rows of the bank's photos
    feats: np.ndarray       # every photo's centred unit feature vector
    k: int
    temperature: float
    spare: int

    def score(self, q: np.ndarray, text: str, rows: np.ndarray) -> np.ndarray:
        cos = (q[None] @ self.bank_rows.T)[0]
        n_keep = min(self.k + self.spare, len(cos))
        part = np.argpartition(-cos, n_keep - 1)[:n_keep]
        banned = self.lender[part][None, :] == rows[:, None]     # a photo never lends to itself
        cand, w = softmax_top(np.broadcast_to(part, banned.shape), np.where(banned, -np.inf, cos[part][None]),
                              self.k, self.temperature)
        cols = self.column[cand]
        used, pos = np.unique(cols, return_inverse=True)
        sims = self.feats[rows] @ self.feats[self.bank_photos[used]].T        # only the lenders' columns
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


class Pack:
    """A model's photo side over one catalogue; score(query vector, query text, photo rows)."""

    def __init__(self, folder: Path):
        meta = json.loads((folder / "meta.json").read_text())
        arr = {key: np.load(folder / name, mmap_mode="r", allow_pickle=False) for key, name in meta["files"].items()}
        self.folder, self.meta = folder, meta
        self.images = [str(im) for im in np.load(folder / "images.npy", allow_pickle=False)]
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
                                            np.asarray(get("bank_photos")), get("feats"), b["k"],
                                            b["temperature"], b["spare"])
        self.tower = (_Tower(arr["tower.photo"], arr["tower.which"], np.asarray(arr["tower.txt_w"]),
                             np.asarray(arr["tower.txt_b"]), arr["tower.index"]) if "tower.photo" in arr else None)
        self.label = arr.get("label.photo")
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
        cols = {}
        for name in self.signals:
            if name in self.caption:
                cols[name] = self.caption[name].score(q, text, rows)
            elif name in self.photo:
                cols[name] = self.photo[name].score(q, text, rows)
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
            n = self.net
            h = np.maximum(z.astype(np.float32) @ n["w1"] + n["b1"], 0)       # members x rows x hidden
            out = h @ n["w2"] + n["b2"]
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
    corpus = load_corpus(con, model["image_encoder"], model["text_encoder"])
    arrays, meta = _arrays(scorer, corpus, parts)
    meta.update(version=VERSION, model_id=model["model_id"], sha256=model["sha256"], photos=len(corpus.images))
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        np.save(tmp / "images.npy", np.asarray(corpus.images))
        files, by_digest = {}, {}
        for key, value in arrays.items():
            value = np.ascontiguousarray(value)
            digest = hashlib.sha1(value.tobytes() + str((value.dtype, value.shape)).encode()).hexdigest()
            if digest not in by_digest:           # the two caption transfers share a bank: one file
                by_digest[digest] = f"{key}.npy"
                np.save(tmp / by_digest[digest], value)
            files[key] = by_digest[digest]
        (tmp / "meta.json").write_text(json.dumps({**meta, "files": files}))
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep=folder)
    log(f"search pack {folder.name}: {len(corpus.images)} photos in {time.perf_counter() - started:.1f} s")
    return folder


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


def _arrays(scorer, corpus, parts: dict) -> tuple[dict, dict]:
    from scipy import sparse

    from .scorers.bridges import CaptionTransfer, PhotoTransfer, TwoTower
    rows = np.arange(len(corpus.images))
    arrays = {}
    meta = {"signals": parts["signals"], "head": parts["head"], "bridges": {}, "vocabularies": {}}
    for prefix, b in parts["bridges"].items():
        p = b.params
        if isinstance(b, CaptionTransfer):
            photos, desc, mask, feats = b._bank(corpus)
            nbr, nbr_sim = b._neighbours(rows, photos, feats)
            arrays.update({prefix + "nbr": nbr.astype(np.int32), prefix + "nbr_sim": nbr_sim, prefix + "mask": mask})
            if p.words:
                csc = sparse.csc_matrix(desc, dtype=np.float32)
                arrays.update({prefix + "indptr": csc.indptr, prefix + "indices": csc.indices,
                               prefix + "data": csc.data, prefix + "idf": b.words.idf})
                meta["vocabularies"][prefix] = b.words.vocabulary
            else:
                arrays[prefix + "desc"] = desc
            meta["bridges"][prefix] = {"kind": "caption", "k": p.k, "temperature": p.temperature,
                                       "aggregate": p.aggregate, "words": p.words, "desc_rows": desc.shape[0]}
        elif isinstance(b, PhotoTransfer):
            texts, _, lender, column, _ = b._photo_sim(corpus)
            arrays.update({prefix + "bank_rows": corpus.text_vectors[texts], prefix + "lender": lender,
                           prefix + "column": column, prefix + "bank_photos": np.unique(lender),
                           prefix + "feats": unit(corpus.features - b.feature_mean)})
            meta["bridges"][prefix] = {"kind": "photo", "k": p.k, "temperature": p.temperature, "spare": b.SPARE}
        elif isinstance(b, TwoTower):
            inner = sorted(parts["inner"].items())
            towers = [b] + [t for _, (_, t) in inner]
            photo = b.project_photos(corpus).copy()
            which = np.zeros(len(rows), dtype=np.int8)
            for i, (_, (names, t)) in enumerate(inner, start=1):
                held = np.asarray([corpus.image_index[n] for n in names if n in corpus.image_index], dtype=int)
                if len(held):
                    photo[held] = t._project_features(corpus.features[held])
                    which[held] = i
            arrays.update({
                "tower.photo": photo, "tower.which": which,
                "tower.txt_w": np.stack([[net.txt.weight.detach().numpy() for net in t.nets] for t in towers]),
                "tower.txt_b": np.stack([[net.txt.bias.detach().numpy() for net in t.nets] for t in towers]),
                "tower.index": b.project_photos(corpus)[:, :b.params.dim]})
    if parts["label"] is not None:
        arrays["label.photo"] = parts["label"]._photo_vectors(corpus)
    if parts["head"] != "signal":
        arrays.update({"head.mean": scorer.mean, "head.std": scorer.std,
                       "cal.x": scorer.calibration.x, "cal.y": scorer.calibration.y})
        meta["cal_scale"] = float(scorer.calibration.scale)
    if parts["head"] == "mlp":
        arrays.update({f"head.{k}": getattr(scorer.net, k).detach().numpy() for k in ("w1", "b1", "w2", "b2")})
    elif parts["head"] == "linear":
        arrays["head.coef"] = np.asarray(scorer.coef)
        meta["intercept"] = float(scorer.intercept)
    return arrays, meta


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
