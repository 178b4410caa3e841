"""Ad-hoc pair scoring: how well does each text fit one photo, from 0 to 1, with the children rule.

The photo is a catalogue name (its stored vectors) or a file, embedded on the fly and never stored.
A child query, or a photo the rule would hide (flagged without consent, or by the stored pixel
classifier for a new file), gets the disclaimer instead of a score."""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import policy
from .config import WEAK_BELOW
from .corpus import load_corpus
from .errors import WsError
from .search import active_model, load_model, prepare_query


@dataclass
class Rating:
    text: str
    score: float | None = None
    disclaimer: str | None = None
    reason: str | None = None
    evidence: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def weak(self) -> bool | None:
        return None if self.score is None else self.score < WEAK_BELOW

    def to_json(self, photo: str) -> dict:
        return {"photo": photo, "text": self.text, "score": None if self.score is None else round(self.score, 6),
                "weak": self.weak, "disclaimer": self.disclaimer, "reason": self.reason,
                **({"notes": self.notes} if self.notes else {})}


def _embed_file(path: Path, image_version: str) -> tuple[np.ndarray, np.ndarray]:
    from .embedding import top_labels
    from .encoders import IMAGE_VERSIONS, image_encoder
    from .encoders.preprocess import PhotoError, load_rgb, to_batch, to_pixels
    from .ingest.photos import MAX_PHOTO_BYTES
    name = {v: k for k, v in IMAGE_VERSIONS.items()}[image_version]
    try:
        size = path.stat().st_size
        if size > MAX_PHOTO_BYTES:
            raise PhotoError(f"file is too large ({size} bytes; the limit is {MAX_PHOTO_BYTES})")
        encoder = image_encoder(name)
        with open(path, "rb") as f:
            image = load_rgb(f, at_least=encoder.size)
    except (OSError, PhotoError) as exc:
        raise WsError(f"Cannot read {path} as a photo: {exc}") from None
    features, probs = encoder.run(to_batch([to_pixels(image, encoder.size)]))
    idx, top = top_labels(probs)
    label_probs = np.zeros(probs.shape[1], dtype=np.float32)
    label_probs[idx[0]] = top[0]
    return features[0], label_probs


def rate(con, photo: str, texts: list[str], region: str | None = None, lang: str | None = None) -> list[Rating]:
    prepared = [prepare_query(t) for t in texts]          # an empty text is refused before any load
    check, applies = policy.QueryCheck.load(con), policy.rule_applies(con, region)
    disclaimers, held_back = policy.load_disclaimers(con), policy.load_disclaimers(con, photo=True)
    entry = active_model(con)
    stored = con.execute("select status from photos where image = ?", [photo]).fetchone()
    hidden_reason = None
    from .searchpack import Pack
    pack = Pack.open(con, entry) if stored is not None else None
    if pack is not None and photo in pack.images:          # a catalogue photo: the pack, no torch
        index = pack.images.index(photo)
    else:
        pack, corpus = None, load_corpus(con, entry["image_encoder"], entry["text_encoder"])
    if stored is not None and (pack is not None or photo in corpus.image_index):
        index = index if pack is not None else corpus.image_index[photo]
        if stored[0] != "ok":
            raise WsError(f"The file of {photo} is {stored[0]} on disk: it is kept out of scoring until it returns.")
        if photo in policy.hidden_photos(con, region):
            hidden_reason = policy.REASON_PHOTO
    else:
        path = Path(photo)
        if not path.is_file():
            raise WsError(f"{photo} is neither a photo in the catalogue nor a readable file.")
        features, label_probs = _embed_file(path, entry["image_encoder"])
        if applies:
            model = policy.pixel_model(con, entry["image_encoder"])
            if model is None:
                raise WsError("No stored pixel classifier to check a new photo for children: "
                              "run `ws policy run --force` first.")
            if policy.pixel_probability(model, features[None])[0] >= model["threshold"]:
                hidden_reason = policy.REASON_PHOTO
        corpus, index = corpus.with_photo(f"<file>{path.name}", features, label_probs)
    if pack is None:
        from .memo import Cache
        scorer, cache = load_model(entry), Cache()
        corpus, slot = corpus.with_query_slot()
    encoder = None
    out = []
    for text, (query, notes) in zip(texts, prepared):
        decision = check(query)
        notes = notes + decision.notes
        if applies and (decision.is_child or hidden_reason):
            # the query's disclaimer when it asks for children, else the photo's: the photo is why
            shown = (disclaimers if decision.is_child else held_back)[policy.query_lang(query, lang)]
            out.append(Rating(text, None, shown, decision.reason or hidden_reason, decision.evidence, notes))
            continue
        if encoder is None:
            from .encoders import text_encoder_for_version
            from .encoders.multilingual import QueryEncoder, load_map
            encoder = QueryEncoder(text_encoder_for_version(entry["text_encoder"]),
                                   load_map(con, entry["text_encoder"]))
        vector = encoder.encode([query])[0]
        notes = notes + encoder.take_notes()
        if pack is not None:
            score = pack.score(vector, query, np.asarray([index]))[0]
        else:
            corpus.text_vectors[slot], corpus.raw_texts[slot] = vector, query
            score = scorer.score(corpus, np.asarray([index]), np.asarray([slot]), cache)[0]
        out.append(Rating(text, float(np.clip(score, 0, 1)), evidence=decision.evidence, notes=notes))
    return out
