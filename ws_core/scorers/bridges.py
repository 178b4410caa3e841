"""Bridges between ImageNet photo features and English sentence vectors (no joint model offline)."""
import functools
from dataclasses import dataclass

import numpy as np
import torch

from .base import Scorer, unit


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

    def fit(self, corpus, train_pairs, train_photos, seed=0):
        self.class_vectors = class_name_vectors(corpus.text_encoder)
        return self

    def score(self, corpus, img, txt):
        u_img, inv = np.unique(img, return_inverse=True)
        photo = unit(corpus.label_probs[u_img] @ self.class_vectors)[inv]
        return (np.einsum("ij,ij->i", photo, corpus.text_vectors[txt]) + 1) / 2

    def state(self):
        return {"class_vectors": self.class_vectors}

    def set_state(self, state):
        self.class_vectors = state["class_vectors"]


@dataclass
class CaptionTransferParams:
    # chosen by `ws bench cv --model caption_transfer --grid k=5,10,20,40,80
    #   --grid temperature=0.02,0.05,0.2,1.0 --grid aggregate=mean,max` (CV MRR 0.293 at these)
    k: int = 20                 # neighbours in photo-feature space that lend their descriptions
    temperature: float = 0.2    # neighbour weight = softmax(cosine / temperature)
    aggregate: str = "max"      # how a neighbour's descriptions meet the text: mean or max cosine


class CaptionTransfer(Scorer):
    """A photo borrows the descriptions of its nearest described photos; the text is compared with
    them, text to text, where the sentence encoder is strongest."""
    kind = "caption_transfer"
    Params = CaptionTransferParams

    def fit(self, corpus, train_pairs, train_photos, seed=0):
        bank = corpus.descriptions_of(train_photos)
        self.bank_images = [corpus.images[p] for p in sorted(bank)]
        self.bank_texts = [[corpus.texts[t] for t in bank[p]] for p in sorted(bank)]
        self._cache = self._nbr = None
        return self

    def state(self):
        return {"bank_images": self.bank_images, "bank_texts": self.bank_texts}

    def set_state(self, state):
        self.bank_images, self.bank_texts = state["bank_images"], state["bank_texts"]
        self._cache = self._nbr = None

    def _bank(self, corpus):
        """Bank photos, their description vectors and unit photo features: built once per corpus
        (search scores many queries against one corpus; the bank is fixed by fit)."""
        cached = getattr(self, "_cache", None)
        if cached is None or cached[0] is not corpus:
            self._cache = (corpus, *self._build_bank(corpus), unit(corpus.features))
        return self._cache[1:]

    def _neighbours(self, u_img, photos, feats):
        """Nearest bank photos of each photo, two spare for the exclusions in score(). Computed for
        every photo of the corpus at once and kept: it depends on the photos only, so search and
        batch scoring over any photo subset pay it once."""
        cached = getattr(self, "_nbr", None)
        if cached is None or cached[0] is not photos or cached[1] is not feats:
            sim = feats @ feats[photos].T
            sim[np.arange(len(feats))[:, None] == photos[None, :]] = -np.inf
            n_keep = min(self.params.k + 2, len(photos))
            nbr = np.argpartition(-sim, n_keep - 1, axis=1)[:, :n_keep]
            self._nbr = cached = (photos, feats, nbr, np.take_along_axis(sim, nbr, axis=1))
        return cached[2][u_img], cached[3][u_img]

    def _build_bank(self, corpus):
        photos = np.asarray([corpus.image_index[im] for im in self.bank_images])
        width = max(len(ts) for ts in self.bank_texts)
        desc = np.zeros((len(photos), width, corpus.text_vectors.shape[1]), dtype=np.float32)
        mask = np.zeros((len(photos), width), dtype=bool)
        for i, ts in enumerate(self.bank_texts):
            desc[i, :len(ts)] = corpus.text_vectors[[corpus.text_index[t] for t in ts]]
            mask[i, :len(ts)] = True
        return photos, desc, mask

    def score(self, corpus, img, txt):
        p = self.params
        photos, desc, mask, feats = self._bank(corpus)
        u_img, img_inv = np.unique(img, return_inverse=True)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        nbr, nbr_sim = self._neighbours(u_img, photos, feats)
        # each text against each bank photo's descriptions
        cos = np.einsum("td,bwd->tbw", corpus.text_vectors[u_txt], desc)
        if p.aggregate == "max":
            text_vs_bank = np.where(mask[None], cos, -np.inf).max(axis=2)
        else:
            text_vs_bank = (cos * mask[None]).sum(axis=2) / mask.sum(axis=1)[None]
        out = np.empty(len(img), dtype=np.float64)
        for start in range(0, len(img), 65536):
            sl = slice(start, start + 65536)
            ni, nt = img_inv[sl], txt_inv[sl]
            cand, cand_sim = nbr[ni], nbr_sim[ni]
            banned = photos[cand] == corpus.text_photo[txt[sl]][:, None]   # the text's own photo
            cand_sim = np.where(banned | ~np.isfinite(cand_sim), -np.inf, cand_sim)
            order = np.argsort(-cand_sim, axis=1)[:, :p.k]
            cand = np.take_along_axis(cand, order, axis=1)
            cand_sim = np.take_along_axis(cand_sim, order, axis=1)
            w = np.exp((cand_sim - cand_sim[:, :1]) / p.temperature)
            vals = text_vs_bank[nt[:, None], cand]
            out[sl] = (w * vals).sum(axis=1) / w.sum(axis=1)
        return (out + 1) / 2


@dataclass
class TwoTowerParams:
    dim: int = 256              # joint space width
    epochs: int = 15            # 5-fold CV: 15 matched 30 (MRR 0.426 vs 0.418) at half the time
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.05   # InfoNCE temperature


class _Towers(torch.nn.Module):
    def __init__(self, img_dim, txt_dim, dim):
        super().__init__()
        self.img = torch.nn.Sequential(torch.nn.Linear(img_dim, 512), torch.nn.GELU(),
                                       torch.nn.Dropout(0.2), torch.nn.Linear(512, dim))
        self.txt = torch.nn.Linear(txt_dim, dim)

    def forward(self, f, t):
        return (torch.nn.functional.normalize(self.img(f), dim=-1),
                torch.nn.functional.normalize(self.txt(t), dim=-1))


class TwoTower(Scorer):
    """Photo features and text vectors projected into one space, trained contrastively (InfoNCE in
    both directions) on photo-description pairs of the training photos."""
    kind = "two_tower"
    Params = TwoTowerParams

    def fit(self, corpus, train_pairs, train_photos, seed=0):
        p = self.params
        bank = corpus.descriptions_of(train_photos)
        pairs = np.asarray([(ph, t) for ph, ts in bank.items() for t in ts])
        feats = corpus.features
        self.mean = feats[list(bank)].mean(axis=0)
        self.std = feats[list(bank)].std(axis=0) + 1e-6
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = _Towers(feats.shape[1], corpus.text_vectors.shape[1], p.dim)
        opt = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        f_all = torch.from_numpy((feats - self.mean) / self.std).float()
        t_all = torch.from_numpy(corpus.text_vectors)
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
        self.net = net.eval()
        self._last_img = None
        return self

    def project(self, corpus, img, txt):
        """Joint-space vectors of each pair's photo and text (each distinct one projected once)."""
        u_img, img_inv = np.unique(img, return_inverse=True)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        cached = getattr(self, "_last_img", None)
        if cached is None or cached[0] is not corpus.features:
            # every photo of the corpus at once, kept: a photo's projection never changes after fit
            with torch.inference_mode():
                f = torch.from_numpy((corpus.features - self.mean) / self.std).float()
                cached = (corpus.features, torch.nn.functional.normalize(self.net.img(f), dim=-1).numpy())
            self._last_img = cached
        return cached[1][u_img][img_inv], self.project_texts(corpus.text_vectors[u_txt])[txt_inv]

    def project_texts(self, vectors: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.nn.functional.normalize(self.net.txt(torch.from_numpy(vectors)), dim=-1).numpy()

    def score(self, corpus, img, txt):
        fi, ti = self.project(corpus, img, txt)
        return (np.einsum("ij,ij->i", fi, ti) + 1) / 2

    def state(self):
        return {"mean": self.mean, "std": self.std,
                **{f"net.{k}": v.numpy() for k, v in self.net.state_dict().items()}}

    def set_state(self, state):
        self.mean, self.std = state["mean"], state["std"]
        txt_dim = state["net.txt.weight"].shape[1]
        self.net = _Towers(len(self.mean), txt_dim, self.params.dim)
        self.net.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in state.items()
                                  if k.startswith("net.")})
        self.net.eval()
        self._last_img = None
