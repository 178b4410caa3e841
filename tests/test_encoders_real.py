"""The real bundled models on a few sample photos (a few seconds; the ONNX export is cached)."""
import numpy as np
import pytest

from jobs.embed import run_embed
from jobs.ingest import run_ingest
from ws_core import encoders
from ws_core.embedding import embed_images
from tests.conftest import table

DOG = "2054869561_ff723e9eab.jpg"  # a Border collie running on grass


@pytest.fixture
def dog_db(con, sample, tmp_path, monkeypatch):
    monkeypatch.setenv("WS_CACHE", str(tmp_path / "cache"))
    keep = {DOG, "2333288869_8c01e4c859.jpg", "106490881_5a2dd9b7bd.jpg"}
    for folder in ("train_images", "test_images"):
        for p in (sample / folder).iterdir():
            if p.name not in keep:
                p.unlink()
    for name in ("train_dataset.csv", "ExpertAnnotations.tsv", "CrowdAnnotations.tsv",
                 "test_queries.csv", "test_images.csv", "photo_descriptions.tsv"):
        (sample / name).unlink()
    run_ingest(con, [sample])
    return con


def test_dog_photo_is_closer_to_a_dog_than_to_a_bridge(dog_db):
    run_embed(dog_db, "effnet-lite0", "minilm-l6")
    assert table(dog_db, "select count(*) from image_embeddings") == [(3,)]
    labels = table(dog_db, "select label, prob from image_labels where image = ? order by rank", [DOG])
    assert labels[0][0] == "Border collie"
    # label bridge: class-name sentence vectors weighted by the photo's class probabilities
    text = encoders.text_encoder("minilm-l6")
    names, probs = zip(*labels)
    photo = (np.asarray(probs)[:, None] * text.encode(list(names))).sum(0)
    dog, bridge = text.encode(["a dog", "a bridge"])
    assert photo @ dog > photo @ bridge + 0.2


def test_onnx_path_matches_eager_reference(dog_db):
    items = table(dog_db, "select image, path, sha256 from photos order by image")
    onnx = next(embed_images(encoders.image_encoder("effnet-lite0"), items, 8))
    eager = next(embed_images(encoders.image_encoder("effnet-lite0-eager"), items, 8))
    assert onnx.images == eager.images
    assert np.abs(onnx.features - eager.features).max() <= 1e-3
    assert np.abs(onnx.probs - eager.probs).max() <= 1e-4
