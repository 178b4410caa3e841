import numpy as np
import pytest
from PIL import Image

from jobs.embed import run_embed
from jobs.ingest import run_ingest
from ws_core import encoders
from ws_core.encoders.preprocess import PhotoError, load_rgb, to_batch, to_pixels
from tests.conftest import table

FAKE = ("fake-image", "fake-text")


class Loads:
    """Counts encoder loads; optionally makes the image encoder fail on batch `fail_at`."""

    def __init__(self, fail_at=None):
        self.calls, self.fail_at, self.batches = [], fail_at, 0

    def __call__(self, kind, name):
        self.calls.append(kind)
        enc = getattr(encoders, f"{kind}_encoder")(name)
        if kind == "image" and self.fail_at is not None:
            run = enc.run

            def flaky(x):
                self.batches += 1
                if self.batches == self.fail_at:
                    raise RuntimeError("killed")
                return run(x)
            enc.run = flaky
        return enc


@pytest.fixture
def loaded(con, sample):
    run_ingest(con, [sample])
    return con


def test_every_photo_and_text_gets_vectors_of_the_right_shape(loaded):
    result = run_embed(loaded, *FAKE, batch_size=16)
    assert (result.photos, result.texts, result.failed) == (74, 370, 0)
    assert table(loaded, "select encoder, dim, count(*), min(len(vector)) from image_embeddings group by all") == [
        ("fake-image/v1", 1280, 74, 1280)]
    assert table(loaded, "select encoder, dim, count(*) from text_embeddings group by all") == [
        ("fake-text/v1", 384, 370)]
    # ten labels per photo, ranked by falling probability
    assert table(loaded, "select count(*), count(distinct image), min(rank), max(rank) from image_labels") == [
        (740, 74, 1, 10)]
    assert table(loaded, "select count(*) from (select image, rank, prob, lag(prob) over "
                         "(partition by image order by rank) as prev from image_labels) "
                         "where prev < prob") == [(0,)]
    # text vectors are unit length; the stored hash matches DuckDB's sha256 of the text
    assert table(loaded, "select min(list_dot_product(vector::float[], vector::float[])) > 0.999 "
                         "from text_embeddings") == [(True,)]
    assert table(loaded, "select count(*) from text_embeddings e join texts t using (text_id) "
                         "where e.text_sha256 = sha256(t.text)") == [(370,)]


def test_rerun_with_nothing_new_loads_no_model(loaded):
    run_embed(loaded, *FAKE)
    loads = Loads()
    result = run_embed(loaded, *FAKE, load=loads)
    assert (result.photos, result.texts) == (0, 0)
    assert loads.calls == []


def test_changed_text_and_photo_are_embedded_again(loaded, sample):
    run_embed(loaded, *FAKE)
    a, b = sorted((sample / "train_images").iterdir())[:2]
    a.write_bytes(b.read_bytes())
    run_ingest(loaded, [sample])
    loaded.execute("update texts set text = 'A changed text .' where text_id = "
                   "(select min(text_id) from texts)")
    result = run_embed(loaded, *FAKE)
    assert (result.photos, result.texts) == (1, 1)
    assert table(loaded, "select count(*) from image_embeddings") == [(74,)]
    (va,), (vb,) = table(loaded, "select vector from image_embeddings where image in (?, ?) "
                                 "order by image", [a.name, b.name])
    assert np.allclose(va, vb, atol=1e-4)  # same pixels; only the batch around them differed


def test_broken_photo_is_quarantined_and_the_rest_embedded(loaded, sample):
    import hashlib
    victim = sorted((sample / "train_images").iterdir())[3]
    data = victim.read_bytes()[:2000]
    victim.write_bytes(data)
    # as if the file had passed ingest: only embedding finds it broken
    loaded.execute("update photos set sha256 = ? where image = ?",
                   [hashlib.sha256(data).hexdigest(), victim.name])
    result = run_embed(loaded, *FAKE, batch_size=8)
    assert (result.photos, result.failed) == (73, 1)
    assert table(loaded, "select source, raw, reason like 'cannot decode the image (%' from quarantine") == [
        ("embed/fake-image/v1", victim.name, True)]
    assert table(loaded, "select status, message from job_runs where job = 'embed'") == [
        ("ok", "1 photos failed to decode (see quarantine)")]


def test_photo_changed_on_disk_since_ingest_is_not_embedded(loaded, sample):
    victim = sorted((sample / "test_images").iterdir())[0]
    Image.new("RGB", (20, 20)).save(victim, format="JPEG")
    result = run_embed(loaded, *FAKE)
    assert result.failed == 1
    assert table(loaded, "select reason from quarantine") == [
        ("photo file changed since ingest; run `ws ingest` again",)]


def test_crash_mid_job_keeps_committed_batches_and_rerun_completes(loaded):
    with pytest.raises(RuntimeError, match="killed"):
        run_embed(loaded, *FAKE, batch_size=8, load=Loads(fail_at=3))
    assert table(loaded, "select count(*) from image_embeddings") == [(16,)]
    assert table(loaded, "select status from job_runs where job = 'embed'") == [("failed",)]
    result = run_embed(loaded, *FAKE, batch_size=8)
    assert (result.photos, result.texts) == (58, 370)
    assert table(loaded, "select count(*), count(distinct image) from image_embeddings") == [(74, 74)]
    assert table(loaded, "select count(*) from image_labels") == [(740,)]


def test_limit(loaded):
    result = run_embed(loaded, *FAKE, limit=5)
    assert (result.photos, result.texts) == (5, 5)


# --- preprocessing: every odd kind of photo becomes upright 8-bit RGB ---

def test_grayscale_cmyk_palette_and_16_bit(tmp_path):
    cases = {
        "gray.jpg": Image.new("L", (30, 20), 128),
        "cmyk.jpg": Image.new("CMYK", (30, 20), (0, 255, 255, 0)),
        "palette.png": Image.new("P", (30, 20), 3),
        "deep.png": Image.fromarray(np.full((20, 30), 40000, dtype=np.uint16)),
    }
    for name, im in cases.items():
        im.save(tmp_path / name)
        out = load_rgb(tmp_path / name)
        assert out.mode == "RGB" and out.size == (30, 20), name
    assert load_rgb(tmp_path / "deep.png").getpixel((0, 0)) == (156, 156, 156)  # 40000 >> 8
    assert load_rgb(tmp_path / "cmyk.jpg").getpixel((0, 0))[0] > 200            # cyan-free: red


def test_alpha_is_flattened_on_white(tmp_path):
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    assert load_rgb(tmp_path / "clear.png").getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    im = Image.new("RGB", (40, 20), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    im.save(tmp_path / "rotated.jpg", exif=exif)
    assert load_rgb(tmp_path / "rotated.jpg").size == (20, 40)


def test_undecodable_input_raises_photo_error(tmp_path):
    (tmp_path / "x.jpg").write_text("not an image")
    with pytest.raises(PhotoError, match=r"cannot decode the image \(cannot identify image file"):
        load_rgb(tmp_path / "x.jpg")


def test_batch_is_scaled_like_the_tf_weights():
    pixels = to_pixels(Image.new("RGB", (50, 40), (255, 127, 0)), 8)
    assert pixels.shape == (8, 8, 3) and pixels.dtype == np.uint8
    x = to_batch([pixels, pixels])
    assert x.shape == (2, 3, 8, 8) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x[1, :, 0, 0] == pytest.approx([1.0, 0.0, -127 / 128])


def test_unknown_encoder_is_a_clear_error():
    from ws_core.errors import WsError
    with pytest.raises(WsError, match="Unknown image encoder 'vgg'; choose one of effnet-lite0"):
        encoders.image_encoder("vgg")


def test_large_jpeg_is_decoded_at_reduced_size_small_ones_whole(tmp_path):
    rng = np.random.default_rng(0)
    smooth = Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).resize((4000, 3000), Image.BICUBIC)
    big, small = tmp_path / "big.jpg", tmp_path / "small.jpg"
    smooth.save(big, "JPEG", quality=92)
    smooth.resize((500, 375)).save(small, "JPEG", quality=92)
    # 4000 x 3000 for a 260-pixel encoder: the codec decodes at 1/8, no side below 260
    assert load_rgb(big, at_least=260).size == (500, 375)
    assert load_rgb(big).size == (4000, 3000)
    assert load_rgb(small, at_least=260).size == (500, 375)          # under 2x: decoded whole
    np.testing.assert_array_equal(to_pixels(load_rgb(small, at_least=260), 260), to_pixels(load_rgb(small), 260))
    reduced = to_pixels(load_rgb(big, at_least=260), 260).astype(float)
    whole = to_pixels(load_rgb(big), 260).astype(float)
    assert np.abs(reduced - whole).mean() < 2.0                       # of 255 levels
    # a PNG has no reduced decoding: whole, as before
    smooth.save(big.with_suffix(".png"))
    assert load_rgb(big.with_suffix(".png"), at_least=260).size == (4000, 3000)
