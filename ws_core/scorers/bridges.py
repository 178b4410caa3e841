"""Bridges between ImageNet photo features and English sentence vectors (no joint model offline)."""
import functools
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse

from ..memo import Cache, digest
from ..numeric import softmax_top, unit, word_weights
from .base import Scorer


@dataclass
class LabelBridgeParams:
    pass  # zero-shot: nothing to tune but the stored top-10 classes


@functools.cache
def class_name_vectors(text_encoder_version: str) -> np.ndarray:
    """Sentence vectors of the 1000 ImageNet class names (computed once per process)."""
    from ..encoders import text_encoder_for_version
    from ..encoders.image import imagenet_labels
    enc = text_encoder_for_version(text_encoder_version)
    return enc.encode([f"a photo of a {c}" for c in imagenet_labels()])


class LabelBridge(Scorer):
    """ConSE: the photo's class probabilities weight sentence vectors of the class names; cosine
    with the text vector, mapped from [-1, 1] to [0, 1]."""
    kind = "label_bridge"
    Params = LabelBridgeParams

    def fit(self, corpus, train_pairs, train_photos, seed=0, cache=None):
        self.class_vectors = class_name_vectors(corpus.text_encoder)
        self._forget()
        return self

    def photo_vectors(self, corpus, cache=None) -> np.ndarray:
        """Every photo's vector at once, kept: it depends on the photo only (search: 4 ms a query)."""
        return self._derived(corpus, cache, "photos", lambda: unit(corpus.label_probs @ self.class_vectors))

    def score(self, corpus, img, txt, cache=None):
        photo = self.photo_vectors(corpus, cache)[img]
        return (np.einsum("ij,ij->i", photo, corpus.text_vectors[txt]) + 1) / 2

    def state(self):
        return {"class_vectors": self.class_vectors}

    def set_state(self, state):
        self.class_vectors = state["class_vectors"]
        self._forget()


def _bank_mean(corpus, photos, center: bool) -> np.ndarray:
    """The mean photo feature of the bank, subtracted before photo-to-photo cosines (zeros: off)."""
    if not center or not len(photos):
        return np.zeros(corpus.features.shape[1], dtype=np.float32)
    return corpus.features[list(photos)].mean(axis=0)


@dataclass
class CaptionTransferParams:
    # chosen by `ws bench cv --model caption_transfer --grid k=5,10,20,40,80
    #   --grid temperature=0.02,0.05,0.2,1.0 --grid aggregate=mean,max` (CV MRR 0.293 at these)
    k: int = 20                 # neighbours in photo-feature space that lend their descriptions
    temperature: float = 0.2    # neighbour weight = softmax(cosine / temperature)
    aggregate: str = "max"      # how a neighbour's descriptions meet the text: mean or max cosine
    # `--grid center=false,true`: CV MRR 0.293 / 0.308, expert tau-c 0.488 / 0.495
    center: bool = True         # photo cosines on features minus the bank's mean: raw pooled
                                # features are all positive, so every pair of photos looks alike
    words: bool = False         # compare texts by TF-IDF word vectors instead of sentence vectors
                                # (a signal of the pair scorers; alone CV MRR 0.280, tau-c 0.448)


class WordVectors:
    """TF-IDF vectors of texts (sublinear counts, smoothed idf, unit length) over a vocabulary of
    words seen in at least two of the bank's descriptions, English stop words left out. Where the
    sentence encoder gives one holistic cosine, these count the shared content words. The vocabulary
    is found by scikit-learn's CountVectorizer; texts are counted here, by its token pattern, so
    scoring a query does not import scikit-learn (about 1.4 s of a cold search)."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray):
        self.vocabulary, self.idf = list(vocabulary), np.asarray(idf, dtype=np.float32)
        self._column = {w: i for i, w in enumerate(self.vocabulary)}

    @classmethod
    def fit(cls, texts: list[str]) -> "WordVectors":
        from sklearn.feature_extraction.text import CountVectorizer
        try:
            counts = CountVectorizer(stop_words="english", min_df=2)
            df = np.asarray((counts.fit_transform(texts) > 0).sum(axis=0)).ravel()
        except ValueError:   # no word in two descriptions (a tiny bank): vectors all zero
            return cls([], np.zeros(0))
        return cls(counts.get_feature_names_out().tolist(), np.log((1 + len(texts)) / (1 + df)) + 1)

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        for r, text in enumerate(texts):
            c, w = word_weights(text, self._column, self.idf)
            rows.append(np.full(len(c), r))
            cols.append(c)
            vals.append(w)
        cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
        return sparse.csr_matrix((cat(vals, np.float32), (cat(rows, np.int64), cat(cols, np.int64))),
                                 shape=(len(texts), len(self.vocabulary)), dtype=np.float32)


# Cosines a transfer computes at once (texts x bank descriptions): 2**25, 256 MB as float64, so a
# score call's memory stays bounded however many texts and descriptions there are.
CHUNK_COSINES = 1 << 25


def _dense(cos):
    """Cosines of word vectors come out sparse; the transfers index them as arrays."""
    return cos.toarray() if sparse.issparse(cos) else cos


class LazyRows:
    """A per-photo table whose rows are computed on first use, in blocks of bounded size."""
    BLOCK = 1024

    def __init__(self, n: int, compute):
        self.compute, self.done, self.parts = compute, np.zeros(n, dtype=bool), None

    def ensure(self, rows: np.ndarray) -> tuple:
        missing = np.unique(rows[~self.done[rows]])
        for a in range(0, len(missing), self.BLOCK):
            block = missing[a:a + self.BLOCK]
            values = self.compute(block)
            if self.parts is None:   # np.empty: pages of rows never computed are never touched
                self.parts = tuple(np.empty((len(self.done), *v.shape[1:]), v.dtype) for v in values)
            for part, v in zip(self.parts, values):
                part[block] = v
        self.done[missing] = True
        return self.parts

    def get(self, rows: np.ndarray) -> tuple:
        return tuple(part[rows] for part in self.ensure(rows))

    @property
    def nbytes(self) -> int:
        """What the rows computed so far hold (np.empty leaves the others untouched)."""
        per_row = sum(part.itemsize * int(np.prod(part.shape[1:])) for part in self.parts or ())
        return self.done.nbytes + per_row * int(self.done.sum())


class _Transfer(Scorer):
    """What the transfers keep: the bank of lent descriptions (photo and text ids), the bank's mean
    photo feature and, comparing texts by words, the bank's vocabulary; what they derive from a corpus
    (neighbours, bank vectors, photo cosines) is kept in the caller's Cache."""

    def _fit_bank(self, corpus, bank: dict):
        self.feature_mean = _bank_mean(corpus, sorted(bank), self.params.center)
        if self.params.words:
            self.words = WordVectors.fit([corpus.raw_texts[t] for p in sorted(bank) for t in bank[p]])
        self._forget()

    def state(self):
        words = {"vocabulary": self.words.vocabulary, "idf": self.words.idf} if self.params.words else {}
        return {"bank_images": self.bank_images, "bank_texts": self.bank_texts,
                "feature_mean": self.feature_mean, **words}

    def set_state(self, state):
        self.bank_images, self.bank_texts = state["bank_images"], state["bank_texts"]
        self.feature_mean = state["feature_mean"]
        if self.params.words:
            self.words = WordVectors(state["vocabulary"], state["idf"])
        self._forget()

    def _text_rows(self, corpus, texts):
        """The texts as the comparison sees them: sentence vectors, or TF-IDF word vectors."""
        if self.params.words:
            return self.words.transform([corpus.raw_texts[t] for t in texts])
        return corpus.text_vectors[texts]


class CaptionTransfer(_Transfer):
    """A photo borrows the descriptions of its nearest described photos; the text is compared with
    them, text to text, where the sentence encoder is strongest."""
    kind = "caption_transfer"
    Params = CaptionTransferParams

    def fit(self, corpus, train_pairs, train_photos, seed=0, cache=None):
        bank = corpus.descriptions_of(train_photos)
        self.bank_images = [corpus.images[p] for p in sorted(bank)]
        self.bank_texts = [[corpus.texts[t] for t in bank[p]] for p in sorted(bank)]
        self._fit_bank(corpus, bank)
        return self

    def bank(self, corpus, cache=None):
        """Bank photos, their description vectors and unit photo features: built once per corpus
        and cache (search scores many queries against one corpus; the bank is fixed by fit)."""
        return self._derived(corpus, cache, "bank", lambda: (
            *self._build_bank(corpus), unit(corpus.features - self.feature_mean)))

    def _neighbours(self, corpus, cache, u_img, photos, feats):
        """Nearest bank photos of each photo, two spare for the exclusions in score(). Kept per
        photo of the corpus (it depends on the photos only) and computed on first use, so a call
        pays for the photos it scores, search and batch scoring over one corpus pay once."""
        n_keep = min(self.params.k + 2, len(photos))

        def nearest(rows):
            sim = feats[rows] @ feats[photos].T
            sim[rows[:, None] == photos[None, :]] = -np.inf
            nbr = np.argpartition(-sim, n_keep - 1, axis=1)[:, :n_keep]
            return nbr, np.take_along_axis(sim, nbr, axis=1)
        return self._derived(corpus, cache, "neighbours", lambda: LazyRows(len(feats), nearest)).get(u_img)

    def _build_bank(self, corpus):
        """Bank photos, a row per (photo, description slot) for the description vectors (empty
        slots: index 0, masked), and the mask of filled slots."""
        photos = np.asarray([corpus.image_index[im] for im in self.bank_images])
        width = max(len(ts) for ts in self.bank_texts)
        slots = np.zeros((len(photos), width), dtype=int)
        mask = np.zeros((len(photos), width), dtype=bool)
        for i, ts in enumerate(self.bank_texts):
            slots[i, :len(ts)] = [corpus.text_index[t] for t in ts]
            mask[i, :len(ts)] = True
        return photos, self._text_rows(corpus, slots.ravel()), mask

    def score(self, corpus, img, txt, cache=None):
        p = self.params
        photos, desc, mask, feats = self.bank(corpus, cache)
        u_img, img_inv = np.unique(img, return_inverse=True)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        nbr, nbr_sim = self._neighbours(corpus, cache, u_img, photos, feats)
        out = np.empty(len(img), dtype=np.float64)
        # texts in chunks, each against every bank description at once (one BLAS product: einsum over
        # the 3-d bank was 6x slower); a chunk's cosines stay near 256 MB whatever the bank's size
        by_text = np.argsort(txt_inv, kind="stable")
        bounds = np.searchsorted(txt_inv[by_text], np.arange(0, len(u_txt) + 1))
        step = max(1, CHUNK_COSINES // max(1, desc.shape[0]))
        for a in range(0, len(u_txt), step):
            b = min(a + step, len(u_txt))
            cos = _dense(self._text_rows(corpus, u_txt[a:b]) @ desc.T).reshape(b - a, *mask.shape)
            if p.aggregate == "max":
                text_vs_bank = np.where(mask[None], cos, -np.inf).max(axis=2)
            else:
                text_vs_bank = (cos * mask[None]).sum(axis=2) / mask.sum(axis=1)[None]
            del cos
            rows = by_text[bounds[a]:bounds[b]]
            for start in range(0, len(rows), 65536):
                sl = rows[start:start + 65536]
                ni, nt = img_inv[sl], txt_inv[sl] - a
                cand, cand_sim = nbr[ni], nbr_sim[ni]
                banned = photos[cand] == corpus.text_photo[txt[sl]][:, None]   # the text's own photo
                cand_sim = np.where(banned | ~np.isfinite(cand_sim), -np.inf, cand_sim)
                cand, w = softmax_top(cand, cand_sim, p.k, p.temperature)
                out[sl] = (w * text_vs_bank[nt[:, None], cand]).sum(axis=1)
        return (out + 1) / 2


@dataclass
class PhotoTransferParams:
    # `ws bench cv --model photo_transfer --grid k=10,20,40 --grid temperature=0.1,0.2,0.5`
    #   (CV MRR 0.314, expert tau-c 0.451 at these; 0.260 / 0.330 without centring)
    k: int = 40                 # descriptions nearest to the text that lend their photos
    temperature: float = 0.2    # weight = softmax(text-to-description cosine / temperature)
    center: bool = True         # as in caption transfer
    words: bool = False         # find the nearest descriptions by TF-IDF word vectors


class PhotoTransfer(_Transfer):
    """Caption transfer's mirror: the text finds its nearest descriptions (text to text) and the
    photo is compared with the photos they were written for (photo to photo)."""
    kind = "photo_transfer"
    Params = PhotoTransferParams
    SPARE = 10   # descriptions beyond k kept for the two excluded photos (5 descriptions each)

    def fit(self, corpus, train_pairs, train_photos, seed=0, cache=None):
        bank = corpus.descriptions_of(train_photos)
        self.bank_images = [corpus.images[p] for p in sorted(bank) for _ in bank[p]]
        self.bank_texts = [corpus.texts[t] for p in sorted(bank) for t in bank[p]]
        self._fit_bank(corpus, bank)
        return self

    def photo_sim(self, corpus, cache=None):
        """Description texts, their photos, and each corpus photo's cosines with the bank photos
        (rows computed on first use): built once per corpus and cache, as it depends on the photos only."""
        def build():
            texts = np.asarray([corpus.text_index[t] for t in self.bank_texts])
            photos = np.asarray([corpus.image_index[im] for im in self.bank_images])
            bank_photos, column = np.unique(photos, return_inverse=True)
            feats = unit(corpus.features - self.feature_mean)
            # word vectors of the bank's texts are kept too (their words never change)
            words = self._text_rows(corpus, texts) if self.params.words else None
            return texts, words, photos, column, LazyRows(len(feats), lambda rows: (feats[rows] @ feats[bank_photos].T,))
        return self._derived(corpus, cache, "photo-sim", build)

    def score(self, corpus, img, txt, cache=None):
        p = self.params
        texts, words, photos, column, sim = self.photo_sim(corpus, cache)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        bank_rows = corpus.text_vectors[texts] if words is None else words
        n_keep = min(p.k + self.SPARE, len(photos))
        nbr = np.empty((len(u_txt), n_keep), dtype=np.int64)
        nbr_cos = np.empty((len(u_txt), n_keep))
        step = max(1, CHUNK_COSINES // max(1, bank_rows.shape[0]))     # texts a chunk: bounded memory
        for a in range(0, len(u_txt), step):
            cos = _dense(self._text_rows(corpus, u_txt[a:a + step]) @ bank_rows.T)
            part = np.argpartition(-cos, n_keep - 1, axis=1)[:, :n_keep]
            nbr[a:a + step], nbr_cos[a:a + step] = part, np.take_along_axis(cos, part, axis=1)
        sim, = sim.ensure(img)
        out = np.empty(len(img), dtype=np.float64)
        for start in range(0, len(img), 65536):
            sl = slice(start, start + 65536)
            cand, cand_cos = nbr[txt_inv[sl]], nbr_cos[txt_inv[sl]]
            lender = photos[cand]
            banned = (lender == img[sl, None]) | (lender == corpus.text_photo[txt[sl]][:, None])
            cand_cos = np.where(banned, -np.inf, cand_cos)
            cand, w = softmax_top(cand, cand_cos, p.k, p.temperature)
            out[sl] = (w * sim[img[sl, None], column[cand]]).sum(axis=1)
        return (out + 1) / 2


@dataclass
class TwoTowerParams:
    dim: int = 256              # joint space width
    # `ws bench cv --model two_tower --grid members=1,5,8 --grid epochs=2,3,4,6,15`: short training
    # generalises better and seeds average out (CV MRR 1x15 0.370, 1x3 0.404, 5x2 0.435, 8x2 0.439)
    epochs: int = 2
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.05   # InfoNCE temperature
    # `ws bench cv --model two_tower --grid hidden=128,256,512` (with more-photos): MRR 0.559 /
    #   0.563 / 0.563, tau-c 0.466 / 0.467 / 0.466, 73 / 78 / 107 s
    hidden: int = 256           # the photo tower's hidden layer
    dropout: float = 0.2        # on the photo tower's hidden layer, in training
    members: int = 5            # towers trained with different seeds, their cosines averaged


class _Towers(torch.nn.Module):
    def __init__(self, img_dim, txt_dim, p: "TwoTowerParams"):
        super().__init__()
        self.img = torch.nn.Sequential(torch.nn.Linear(img_dim, p.hidden), torch.nn.GELU(),
                                       torch.nn.Dropout(p.dropout), torch.nn.Linear(p.hidden, p.dim))
        self.txt = torch.nn.Linear(txt_dim, p.dim)

    def forward(self, f, t):
        return (torch.nn.functional.normalize(self.img(f), dim=-1),
                torch.nn.functional.normalize(self.txt(t), dim=-1))


class TwoTower(Scorer):
    """Photo features and text vectors projected into one space, trained contrastively (InfoNCE in
    both directions) on photo-description pairs of the training photos. With several members (seeds),
    the projections are joined so that one cosine is the members' mean cosine."""
    kind = "two_tower"
    Params = TwoTowerParams

    def fit(self, corpus, train_pairs, train_photos, seed=0, cache=None):
        bank = corpus.descriptions_of(train_photos)
        pairs = np.asarray([(ph, t) for ph, ts in bank.items() for t in ts])

        def fit_members():
            feats = corpus.features
            mean, std = feats[list(bank)].mean(axis=0), feats[list(bank)].std(axis=0) + 1e-6
            f_all = torch.from_numpy((feats - mean) / std).float()
            t_all = torch.from_numpy(corpus.text_vectors)
            # the token goes with the nets: towers fitted once share what is derived from them
            return (mean, std, [self._fit_one(pairs, f_all, t_all, seed + 1000 * m)
                                for m in range(self.params.members)], object())
        # the standalone two-tower and the pair scorers' towers train on the same folds: fit once
        key = ("two-tower", repr(self.params), seed, digest(pairs))
        self.mean, self.std, self.nets, self.token = (cache if cache is not None else Cache()).get(
            corpus, key, fit_members)
        return self

    def _fit_one(self, pairs, f_all, t_all, seed):
        p = self.params
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = _Towers(f_all.shape[1], t_all.shape[1], p)
        opt = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        for _ in range(p.epochs):
            net.train()
            for b in np.array_split(rng.permutation(len(pairs)), max(1, len(pairs) // p.batch_size)):
                ph, tx = pairs[b, 0], pairs[b, 1]
                fi, ti = net(f_all[ph], t_all[tx])
                logits = fi @ ti.T / p.temperature
                # two texts of the same photo in a batch are both right for it
                same = torch.from_numpy(ph[:, None] == ph[None, :]).float()
                target = same / same.sum(1, keepdim=True)
                loss = (torch.nn.functional.cross_entropy(logits, target)
                        + torch.nn.functional.cross_entropy(logits.T, target.T)) / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
        return net.eval()

    def _joined(self, tower, x: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            parts = [torch.nn.functional.normalize(getattr(net, tower)(x), dim=-1) for net in self.nets]
            return (torch.cat(parts, dim=-1) / len(parts) ** 0.5).numpy()

    def project(self, corpus, img, txt, cache=None):
        """Joint-space vectors of each pair's photo and text (each distinct one projected once)."""
        u_img, img_inv = np.unique(img, return_inverse=True)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        return (self.project_photos(corpus, cache)[u_img][img_inv],
                self.project_texts(corpus.text_vectors[u_txt])[txt_inv])

    def project_photos(self, corpus, cache=None) -> np.ndarray:
        """Every photo of the corpus at once, kept in the cache: a photo's projection never changes after fit."""
        return self._derived(corpus, cache, "photos", lambda: self._project_features(corpus.features))

    def _project_features(self, features: np.ndarray) -> np.ndarray:
        return self._joined("img", torch.from_numpy((features - self.mean) / self.std).float())

    def project_texts(self, vectors: np.ndarray) -> np.ndarray:
        return self._joined("txt", torch.from_numpy(vectors))

    def score(self, corpus, img, txt, cache=None, keep_photos: bool = True):
        """Each distinct photo and text projected once, the pairs' cosines taken in chunks: a
        retrieval matrix of millions of pairs never holds a per-pair copy of the 1280-d vectors.
        keep_photos=False projects only these pairs' photos and keeps nothing."""
        u_img, img_inv = np.unique(img, return_inverse=True)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        fi = self.project_photos(corpus, cache)[u_img] if keep_photos else self._project_features(corpus.features[u_img])
        ti = self.project_texts(corpus.text_vectors[u_txt])
        out = np.empty(len(img), dtype=fi.dtype)
        for start in range(0, len(img), 65536):
            sl = slice(start, start + 65536)
            out[sl] = np.einsum("ij,ij->i", fi[img_inv[sl]], ti[txt_inv[sl]])
        return (out + 1) / 2

    def state(self):
        return {"mean": self.mean, "std": self.std,
                **{f"net{m}.{k}": v.numpy() for m, net in enumerate(self.nets)
                   for k, v in net.state_dict().items()}}

    def set_state(self, state):
        self.mean, self.std = state["mean"], state["std"]
        txt_dim = state["net0.txt.weight"].shape[1]
        self.nets = []
        for m in range(self.params.members):
            net = _Towers(len(self.mean), txt_dim, self.params)
            prefix = f"net{m}."
            net.load_state_dict({k[len(prefix):]: torch.from_numpy(v) for k, v in state.items()
                                 if k.startswith(prefix)})
            self.nets.append(net.eval())
        self._forget()
