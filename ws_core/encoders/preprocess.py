"""Photo file -> network input. Shared by every image encoder so eager and exported paths agree."""
import numpy as np
from PIL import Image, ImageOps

from ..ingest.photos import MAX_PIXELS


class PhotoError(ValueError):
    """A photo that cannot be turned into network input; the text says why."""


def load_rgb(source, at_least: int | None = None) -> Image.Image:
    """Decode to 8-bit RGB, upright: EXIF orientation applied, alpha flattened on white,
    grayscale / CMYK / palette / 16-bit converted.

    at_least: the side the caller will shrink to. A JPEG at least twice that on both sides is decoded
    at 1/2, 1/4 or 1/8 scale by the codec itself (Pillow's draft mode, DCT scaling), never below
    `at_least`: a 24 MP frame for a 260-pixel encoder is decoded at 1/8, eight times less work and
    64 times less memory. Smaller photos decode exactly as without it."""
    try:
        with Image.open(source) as im:
            if im.width * im.height > MAX_PIXELS:
                raise PhotoError(f"image is too large ({im.width}x{im.height} pixels)")
            if at_least and im.format == "JPEG" and min(im.size) >= 2 * at_least:
                im.draft("RGB", (at_least, at_least))
            if im.getexif().get(0x0112, 1) != 1:  # exif_transpose copies even when upright
                im = ImageOps.exif_transpose(im)
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16/32-bit gray: keep the top 8 bits rather than let convert() saturate to white
                arr = np.asarray(im, dtype=np.uint32)
                shift = 8 if arr.max() > 255 else 0
                im = Image.fromarray((arr >> shift).clip(0, 255).astype(np.uint8), "L")
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im = Image.alpha_composite(white, rgba)
            return im.convert("RGB")
    except PhotoError:
        raise
    except FileNotFoundError:
        raise PhotoError("photo file is missing; run `ws ingest` again") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"cannot decode the image ({exc})") from None


def to_pixels(im: Image.Image, size: int) -> np.ndarray:
    """Whole frame squashed to size x size, bicubic (keeps every part of the scene; ImageNet training
    saw aspect changes of this order): uint8, height x width x 3."""
    return np.asarray(im.resize((size, size), Image.BICUBIC), dtype=np.uint8)


def to_batch(pixels: list[np.ndarray]) -> np.ndarray:
    """uint8 HWC images -> float32 NCHW, scaled as the TF EfficientNet-Lite weights expect:
    (x - 127) / 128. Done once per batch: cheaper than per photo."""
    batch = np.stack(pixels).astype(np.float32)
    batch -= 127.0
    batch /= 128.0
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
