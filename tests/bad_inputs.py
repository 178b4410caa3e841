"""The catalogue of bad inputs: each case damages a copy of the shipped sample in one way. The expected
outcomes live in tests/test_bad_inputs.py; `python -m tests.bad_inputs` prints what ingest does with
each (how the catalogue's expectations were reviewed)."""
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image

A = "106490881_5a2dd9b7bd.jpg"          # a train photo of the sample
Q = "2479652566_8f9fac8af5.jpg#2"       # a query judged on it


@dataclass
class Case:
    name: str
    damage: Callable[[Path], None]


def _append(name: str, data: bytes) -> Callable[[Path], None]:
    def damage(d: Path):
        with open(d / name, "ab") as f:
            f.write(data)
    return damage


def _replace_file(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda d: (d / name).write_bytes(data)


def _photo(name: str, make: Callable[[Path], None]) -> Callable[[Path], None]:
    return lambda d: make(d / "train_images" / name)


def _save(mode: str, size, fmt: str, **kw) -> Callable[[Path], None]:
    return lambda p: Image.new(mode, size, **({"color": kw.pop("color")} if "color" in kw else {})).save(
        p, format=fmt, **kw)


def _truncated_jpeg(p: Path):
    src = next(p.parent.glob("1*.jpg")).read_bytes()
    p.write_bytes(src[: len(src) // 3])


def _oriented(p: Path):
    im = Image.new("RGB", (40, 20), "blue")
    exif = Image.Exif()
    exif[0x0112] = 6                     # rotate 90 degrees on display
    im.save(p, format="JPEG", exif=exif)


def _bomb(p: Path):
    # a 30000 x 30000 PNG header: the size is read from the header, the pixels are never decoded
    Image.new("1", (64, 64)).save(p, format="PNG")
    data = bytearray(p.read_bytes())
    data[16:24] = struct.pack(">II", 30000, 30000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))   # a valid header chunk
    p.write_bytes(bytes(data))


def _symlink_outside(d: Path):
    outside = d.parent / "outside.jpg"
    outside.write_bytes(next((d / "train_images").glob("1*.jpg")).read_bytes())
    (d / "train_images" / "link.jpg").symlink_to(outside)


def _expert_row(image: str, query: str, *scores: str) -> bytes:
    return ("\t".join([image, query, *scores]) + "\n").encode()


def _description(image: str, text: str, k: int = 9) -> bytes:
    return f"{image}\t{image}#{k}\t{text}\n".encode()


CASES = [
    # annotation files
    Case("wrong delimiter", _append("ExpertAnnotations.tsv", f"{A},{A}#7,1,2,3\n".encode())),
    Case("missing field", _append("ExpertAnnotations.tsv", f"{A}\t{A}#7\t1\t2\n".encode())),
    Case("extra field", _append("ExpertAnnotations.tsv", f"{A}\t{A}#7\t1\t2\t3\t4\n".encode())),
    Case("unbalanced quote", _append("train_dataset.csv", f'{A},{A}#7,"A dog runs\n'.encode())),
    Case("BOM and CRLF", lambda d: (d / "ExpertAnnotations.tsv").write_bytes(
        b"\xef\xbb\xbf" + (d / "ExpertAnnotations.tsv").read_bytes().replace(b"\n", b"\r\n"))),
    # Excel's "Unicode Text" export: UTF-16 with its byte order mark, re-encoded and loaded
    Case("UTF-16 with a byte order mark", lambda d: (d / "photo_descriptions.tsv").write_bytes(
        ((d / "photo_descriptions.tsv").read_bytes() + _description(A, "собака бежит по пляжу")).decode()
        .encode("utf-16"))),
    Case("UTF-16 without a byte order mark", lambda d: (d / "ExpertAnnotations.tsv").write_bytes(
        (d / "ExpertAnnotations.tsv").read_bytes().decode().encode("utf-16-le"))),
    Case("UTF-16 mark on broken UTF-16", lambda d: (d / "ExpertAnnotations.tsv").write_bytes(
        (d / "ExpertAnnotations.tsv").read_bytes().decode().encode("utf-16") + b"\x00")),
    Case("Latin-1 bytes", _append("photo_descriptions.tsv", f"{A}\t{A}#9\tcaf".encode() + b"\xe9 au lait\n")),
    Case("invalid UTF-8 bytes", _append("ExpertAnnotations.tsv", f"{A}\t{A}#7\t1\t".encode() + b"\xff\xfe\t1\n")),
    Case("NUL byte in a row", _append("ExpertAnnotations.tsv", f"{A}\t{A}#7\t1\x00\t1\t1\n".encode())),
    Case("empty file", _replace_file("CrowdAnnotations.tsv", b"")),
    Case("header only", _replace_file("train_dataset.csv", b"image,query_id,query_text\n")),
    Case("1 MB text field", _append("photo_descriptions.tsv", _description(A, "x" * 1_000_000))),
    Case("duplicate key, conflicting values", _append("ExpertAnnotations.tsv", _expert_row(A, Q, "4", "4", "4"))),
    Case("duplicate key, same values", _append("ExpertAnnotations.tsv", _expert_row(A, Q, "1", "1", "1"))),
    Case("out-of-range score", _append("ExpertAnnotations.tsv", _expert_row(A, f"{A}#7", "5", "1", "1"))),
    Case("non-numeric score", _append("ExpertAnnotations.tsv", _expert_row(A, f"{A}#7", "two", "1", "1"))),
    Case("NaN share", _append("CrowdAnnotations.tsv", f"{A}\t{A}#7\tnan\t1\t1\n".encode())),
    Case("inf share", _append("CrowdAnnotations.tsv", f"{A}\t{A}#7\tinf\t1\t0\n".encode())),
    Case("negative votes", _append("CrowdAnnotations.tsv", f"{A}\t{A}#7\t1\t-3\t0\n".encode())),
    # photo files
    Case("zero-byte photo", _photo("empty.jpg", lambda p: p.write_bytes(b""))),
    Case("truncated JPEG", _photo("truncated.jpg", _truncated_jpeg)),
    Case("PNG named .jpg", _photo("png.jpg", _save("RGB", (32, 24), "PNG", color="red"))),
    Case("GIF named .jpg", _photo("gif.jpg", _save("P", (30, 20), "GIF"))),
    Case("text file named .jpg", _photo("text.jpg", lambda p: p.write_text("not an image\n"))),
    Case("CMYK JPEG", _photo("cmyk.jpg", _save("CMYK", (30, 20), "JPEG", color=(0, 255, 0, 0)))),
    Case("16-bit PNG", _photo("deep.png", _save("I;16", (30, 20), "PNG"))),
    Case("EXIF orientation", _photo("rotated.jpg", _oriented)),
    Case("decompression bomb 30000x30000", _photo("bomb.png", _bomb)),
    Case("symlink outside the data folder", _symlink_outside),
    Case("newline in a file name", _photo("new\nline.jpg", _save("RGB", (8, 8), "JPEG"))),
    Case("very long file name", _photo("x" * 250 + ".jpg", _save("RGB", (8, 8), "JPEG"))),
    # names inside annotation rows
    Case("'..' in a photo name", _append("ExpertAnnotations.tsv", _expert_row("../secret.jpg", Q, "1", "1", "1"))),
    Case("'/' in a photo name", _append("ExpertAnnotations.tsv", _expert_row("etc/passwd.jpg", Q, "1", "1", "1"))),
    Case("NUL in a photo name", _append("ExpertAnnotations.tsv", _expert_row("a\x00b.jpg", Q, "1", "1", "1"))),
    Case("300-character photo name", _append("ExpertAnnotations.tsv", _expert_row("y" * 296 + ".jpg", Q, "1", "1", "1"))),
    # texts
    Case("empty text", _append("photo_descriptions.tsv", _description(A, ""))),
    Case("whitespace-only text", _append("photo_descriptions.tsv", _description(A, "  \u3000 "))),
    Case("100k-character text", _append("photo_descriptions.tsv", _description(A, "a dog " * 17_000))),
    Case("emoji text", _append("photo_descriptions.tsv", _description(A, "A dog 🐕 runs on the beach 🏖️ ."))),
    Case("right-to-left marks", _append("photo_descriptions.tsv", _description(A, "\u202eA dog\u200f runs \u202c."))),
    Case("SQL in a text", _append("photo_descriptions.tsv", _description(A, "'); DROP TABLE scores; --"))),
]


if __name__ == "__main__":
    import shutil
    import tempfile

    import duckdb

    from jobs.ingest import run_ingest
    from ws_core.config import SAMPLE_DIR
    from ws_core.db import migrate, build_views, table_counts
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp) / "sample"
            shutil.copytree(SAMPLE_DIR, d)
            case.damage(d)
            con = duckdb.connect()
            migrate(con)
            build_views(con)
            r = run_ingest(con, [d])
            counts = table_counts(con)
            print(f"== {case.name}: {[(x.source, x.line_no, x.reason) for x in r.rejects]}")
            print("   ", {k: counts[k] for k in ("photos", "texts", "expert_annotations", "crowd_annotations")})
