"""Everything the scorers read, loaded from the database once: photo and text vectors, ImageNet label
probabilities, which texts describe which photo, and the judged pairs with their targets."""
import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import WsError


@dataclass
class Corpus:
    image_encoder: str
    text_encoder: str
    images: list[str]
    image_split: np.ndarray          # 'train' / 'test' per photo
    training_only: np.ndarray        # bool per photo: its dataset only teaches, never held out
    features: np.ndarray             # photos x 1280, raw pooled features
    label_probs: np.ndarray          # photos x 1000, top-10 probabilities (others 0)
    texts: list[str]
    raw_texts: list[str]             # the words of each text (lexical comparison)
    text_vectors: np.ndarray         # texts x 384, unit length
    text_photo: np.ndarray           # index of the photo each text was written for (-1: not loaded)
    is_description: np.ndarray       # bool per text: a description of its photo (never a test query)
    is_test_query: np.ndarray
    targets: pd.DataFrame            # train_targets joined to indices: img, txt, target, experts, crowd
    image_index: dict = field(init=False)
    text_index: dict = field(init=False)
    hidden: np.ndarray = field(init=False)   # texts no scorer may learn from or borrow (see hiding)

    def __post_init__(self):
        self.image_index = {im: i for i, im in enumerate(self.images)}
        self.text_index = {t: i for i, t in enumerate(self.texts)}
        self.hidden = np.zeros(len(self.texts), dtype=bool)

    @contextmanager
    def hiding(self, texts: np.ndarray):
        """Within the block, these texts are not descriptions of anything: cross-validation hides the
        texts of held-out pairs so that no stage trains on them or borrows them."""
        before = self.hidden.copy()
        self.hidden[texts] = True
        try:
            yield self
        finally:
            self.hidden = before

    def with_query_slot(self) -> tuple["Corpus", int]:
        """A copy with one extra text row, written for no photo and describing nothing, that its
        owner (a searcher, `ws rate`) fills with each query's vector in turn; scorers address texts
        by index. The photo arrays are shared; this corpus is never written."""
        out = dataclasses.replace(
            self, texts=[*self.texts, "<query>"], raw_texts=[*self.raw_texts, ""],
            text_vectors=np.vstack([self.text_vectors, np.zeros((1, self.text_vectors.shape[1]),
                                                                self.text_vectors.dtype)]),
            text_photo=np.append(self.text_photo, -1), is_description=np.append(self.is_description, False),
            is_test_query=np.append(self.is_test_query, False))
        out.hidden = np.append(self.hidden, False)
        return out, len(out.texts) - 1

    def with_photo(self, name: str, features: np.ndarray, label_probs: np.ndarray) -> tuple["Corpus", int]:
        """A copy with one extra photo, outside the catalogue and described by nothing (`ws rate FILE`),
        and its index; this corpus is never written."""
        out = dataclasses.replace(
            self, images=[*self.images, name], image_split=np.append(self.image_split, "test"),
            training_only=np.append(self.training_only, False),
            features=np.vstack([self.features, features[None].astype(self.features.dtype)]),
            label_probs=np.vstack([self.label_probs, label_probs[None].astype(self.label_probs.dtype)]))
        out.hidden = self.hidden.copy()
        return out, len(out.images) - 1

    def descriptions_of(self, photos: np.ndarray | None = None) -> dict[int, np.ndarray]:
        """photo index -> indices of its description texts, for the given photos (default all)."""
        idx = np.flatnonzero(self.is_description & (self.text_photo >= 0) & ~self.hidden)
        out: dict[int, list] = {}
        for t in idx:
            out.setdefault(int(self.text_photo[t]), []).append(t)
        keep = None if photos is None else set(int(p) for p in photos)
        return {p: np.asarray(ts) for p, ts in out.items() if keep is None or p in keep}


def dense_labels(labels: dict, index: dict[str, int]) -> np.ndarray:
    """image_labels rows (columns image, label_index, prob) as one row of 1000 class probabilities per
    photo of `index` (name -> row), zeros where no label was kept; rows of other photos are ignored."""
    out = np.zeros((len(index), 1000), dtype=np.float32)
    rows = np.asarray([index.get(str(im), -1) for im in labels["image"]], dtype=int)
    known = rows >= 0
    out[rows[known], np.asarray(labels["label_index"], dtype=int)[known]] = \
        np.asarray(labels["prob"], dtype=np.float32)[known]
    return out


def load_corpus(con, image_encoder: str, text_encoder: str, labelled_only: bool = False) -> Corpus:
    """labelled_only: only the photos some text was written for (what models learn from and banks
    lend), not a catalogue's undescribed photos, which a search pack reads in chunks instead."""
    # column-wise (fetchnumpy): vectors arrive as float32 arrays, never as millions of Python floats
    # (row tuples held 2.5 GB of RSS for the 7591 photos and 37955 texts of the full data)
    photos = con.execute(
        "select p.image, p.split, e.vector, p.dataset in (select dataset from training_only_datasets) "
        "as training_only from photos p join image_embeddings e "
        "on e.image = p.image and e.encoder = ? "
        "where not ? or p.image in (select image from texts where image is not null) order by p.image",
        [image_encoder, labelled_only]).fetchnumpy()
    if not len(photos["image"]):
        raise WsError(f"No photo vectors for encoder {image_encoder}: run `ws embed` first.")
    images = [str(im) for im in photos["image"]]
    index = {im: i for i, im in enumerate(images)}
    label_probs = dense_labels(con.execute("select image, label_index, prob from image_labels where encoder = ?",
                                           [image_encoder]).fetchnumpy(), index)
    texts = con.execute(
        "select t.text_id, t.image, t.is_description, t.is_test_query, e.vector, t.text from texts t "
        "join text_embeddings e on e.text_id = t.text_id and e.encoder = ? order by t.text_id",
        [text_encoder]).fetchnumpy()
    if not len(texts["text_id"]):
        raise WsError(f"No text vectors for encoder {text_encoder}: run `ws embed` first.")
    text_ids = [str(t) for t in texts["text_id"]]
    targets = con.execute(
        "select t.image, t.text_id, t.target, t.target_source, e.expert_1, e.expert_2, e.expert_3, "
        "t.share_yes from train_targets t left join expert_annotations e "
        # ordered: a parallel join returns rows in any order, and row order reaches the models
        "on e.image = t.image and e.query_id = t.text_id order by t.image, t.text_id").df()
    tindex = {t: i for i, t in enumerate(text_ids)}
    targets["img"] = targets["image"].map(index)
    targets["txt"] = targets["text_id"].map(tindex)
    targets = targets.dropna(subset=["img", "txt"]).astype({"img": int, "txt": int})
    is_test = np.asarray(texts["is_test_query"], dtype=bool)
    return Corpus(
        image_encoder=image_encoder, text_encoder=text_encoder, images=images,
        image_split=np.asarray([str(s) for s in photos["split"]]),
        training_only=np.asarray(photos["training_only"], dtype=bool),
        features=np.stack(photos["vector"]).astype(np.float32),
        label_probs=label_probs, texts=text_ids, raw_texts=[str(t) for t in texts["text"]],
        text_vectors=np.stack(texts["vector"]).astype(np.float32),
        text_photo=np.asarray([index.get(im, -1) if isinstance(im, str) else -1 for im in texts["image"]]),
        is_description=np.asarray(texts["is_description"], dtype=bool) & ~is_test,
        is_test_query=is_test,
        targets=targets.reset_index(drop=True))
