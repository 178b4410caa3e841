"""Photo files: safe names, no escapes from the data folder, decoded once to prove they are images."""
import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from . import validate as v
from .readers import FileRead, Reject, cut

MAX_PHOTO_BYTES = 256 * 1024 * 1024
# 200 MP: above a 100 MP medium-format frame (a 45 MP Nikon Z7, a 61 MP Sony A7R IV); checked on the
# header before decoding, as the guard against decompression bombs. Pillow's own guard is set to it
# (it refuses twice its value at open).
MAX_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
FORMATS = {"JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "TIFF"}
PHOTO_DIRS = (("train_images", "train"), ("test_images", "test"))


@dataclass
class PhotoScan:
    present: set[str] = field(default_factory=set)      # every valid photo name in the folders
    records: list[dict] = field(default_factory=list)   # new or changed photos, to upsert
    folders: list[FileRead] = field(default_factory=list)  # per folder: files read, kept, rejected


def scan_photos(data_dir: Path, dataset: str, stored: dict[str, tuple[str, str, str]]) -> PhotoScan:
    """Validate every file in <data_dir>/{train,test}_images. `stored` maps image -> (sha256, path,
    split) already in the database; an unchanged file is not decoded again."""
    scan = PhotoScan()
    root = data_dir.resolve()
    seen_in: dict[str, str] = {}
    for sub, split in PHOTO_DIRS:
        folder = data_dir / sub
        if not folder.is_dir():
            continue
        stats = FileRead(f"{dataset}/{sub}", "photos", None)
        scan.folders.append(stats)
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
        for entry in tqdm(entries, desc=f"photos {stats.source}", unit="photo", disable=None,
                          leave=False):
            stats.rows_read += 1
            try:
                record = _check(Path(entry.path), entry.name, root)
                name = record["image"]
                if name in seen_in:
                    raise v.BadValue(f"photo name is already used (in {seen_in[name]})")
                record.update(split=split, dataset=dataset)
                if stored.get(name) != (record["sha256"], record["path"], split):
                    record.update(check_decodes(record.pop("_data")))
                    scan.records.append(record)
            except v.BadValue as exc:
                stats.rejects.append(Reject(stats.source, None, cut(entry.name), str(exc)))
                continue
            seen_in[name] = stats.source
            scan.present.add(name)
            stats.rows.append({"image": name})
    return scan


def _check(path: Path, name: str, root: Path) -> dict:
    name = v.photo_name(name)
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(root):
            raise v.BadValue("symbolic link pointing outside the data folder")
    if not path.is_file():
        raise v.BadValue("not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise v.BadValue("empty file (0 bytes)")
    if size > MAX_PHOTO_BYTES:
        raise v.BadValue(f"file is too large ({size} bytes; the limit is {MAX_PHOTO_BYTES})")
    data = path.read_bytes()
    return {"image": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "path": str(path.resolve()), "_data": data}


def check_decodes(data: bytes) -> dict:
    """The photo's size and format, once the whole file has decoded (a JPEG at reduced scale);
    BadValue says why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > MAX_PIXELS:
                    raise v.BadValue(f"image is too large ({width}x{height} pixels; the limit is "
                                     f"{MAX_PIXELS // 1_000_000} megapixels)")
                if im.format not in FORMATS:
                    raise v.BadValue(f"unsupported image format ({im.format})")
                if im.format in ("JPEG", "MPO"):
                    # decoded at 1/8 scale by the codec: it still entropy-decodes every block of the
                    # file, where damage and truncation fail, for a fifth of the time and 1/64 of the
                    # memory (tested: the same verdict as a full decode on damaged files)
                    im.draft(im.mode, (1, 1))
                im.load()
                fmt = im.format
    except Image.DecompressionBombError as exc:
        raise v.BadValue(f"image is too large to decode safely ({exc})") from None
    except v.BadValue:
        raise
    except Image.UnidentifiedImageError:
        raise v.BadValue("not an image file (cannot identify the format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise v.BadValue(f"cannot decode the image ({exc})") from None
    return {"width": width, "height": height, "format": fmt}


def file_state(path: str, sha256: str, size: int) -> str:
    """'ok' when the stored photo's file is still there with the content ingest read, else 'missing'
    or 'changed'. The size is compared first, so an unchanged catalogue costs one read per file."""
    p = Path(path)
    try:
        if not p.is_file():
            return "missing"
        if p.stat().st_size != size:
            return "changed"
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return "missing"            # unreadable is, to a reader, gone
    return "ok" if h.hexdigest() == sha256 else "changed"
