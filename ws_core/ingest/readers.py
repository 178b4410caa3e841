"""Line-by-line CSV/TSV reading: one bad line is quarantined, never the file around it.

Each physical line is parsed on its own, so an unbalanced quote or a stray byte costs one row,
not every row after it. (No input file has a quoted newline; such a line would be quarantined.)
"""
import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .validate import BadValue

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_RAW_CHARS = 2000
csv.field_size_limit(64 * 1024 * 1024)  # long fields get the validators' clearer message
_DELIMITER_NAMES = {"\t": "TAB", ",": "','", "|": "'|'"}


@dataclass(frozen=True)
class Reject:
    source: str
    line_no: int | None
    raw: str | None
    reason: str


@dataclass(frozen=True)
class FileSpec:
    kind: str                         # what the rows are: expert, crowd, descriptions, ...
    file_name: str
    delimiter: str
    n_fields: int
    header: tuple[str, ...] | None    # expected header (lower case); None when the file has none
    parse: Callable[[list[str]], dict]
    key: tuple[str, ...]              # fields that identify a row, for duplicate checks


@dataclass
class FileRead:
    source: str
    kind: str
    sha256: str | None
    rows_read: int = 0
    rows: list[dict] = field(default_factory=list)   # each row carries "_line" and "_raw"
    rejects: list[Reject] = field(default_factory=list)


def cut(raw: str) -> str:
    if len(raw) <= MAX_RAW_CHARS:
        return raw
    return raw[:MAX_RAW_CHARS] + f"... [cut: {len(raw)} characters in all]"


def read_file(path: Path, spec: FileSpec, source: str) -> FileRead:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        out = FileRead(source, spec.kind, None)
        out.rejects.append(Reject(source, None, None, f"file is too large ({size} bytes; the limit is {MAX_FILE_BYTES})"))
        return out
    data = path.read_bytes()
    out = FileRead(source, spec.kind, hashlib.sha256(data).hexdigest())
    data, refused = as_utf8(data)
    if refused:
        out.rejects.append(Reject(source, None, None, refused))
        return out
    lines = data.split(b"\n")
    if not data.strip():
        out.rejects.append(Reject(source, None, None, "file is empty"))
        return out
    seen: dict[tuple, tuple[int, dict]] = {}
    expect_header = spec.header is not None
    for line_no, raw_bytes in enumerate(lines, start=1):
        raw_bytes = raw_bytes.removesuffix(b"\r")
        if not raw_bytes.strip():
            continue  # blank lines carry nothing
        if expect_header:
            expect_header = False
            raw = raw_bytes.decode("utf-8", "replace")
            if _is_header(raw, spec):
                continue
            expected = spec.delimiter.join(spec.header)
            out.rejects.append(Reject(source, line_no, cut(raw),
                                      f"first line is not the header {expected!r}; file skipped"))
            return out
        try:
            raw = raw_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = raw_bytes.decode("utf-8", "backslashreplace")
            out.rows_read += 1
            out.rejects.append(Reject(source, line_no, cut(shown),
                                      f"line is not valid UTF-8 (byte 0x{raw_bytes[exc.start]:02x} "
                                      f"at position {exc.start}); save the file as UTF-8"))
            continue
        out.rows_read += 1
        try:
            fields = next(csv.reader([raw], delimiter=spec.delimiter, strict=True))
        except csv.Error as exc:
            out.rejects.append(Reject(source, line_no, cut(raw), f"malformed quoting ({exc})"))
            continue
        if len(fields) != spec.n_fields:
            reason = (f"wrong number of fields (expected {spec.n_fields} separated by "
                      f"{_DELIMITER_NAMES[spec.delimiter]}, found {len(fields)})")
            if len(fields) == 1 and any(d in raw for d in _DELIMITER_NAMES if d != spec.delimiter):
                reason += "; is the delimiter wrong?"
            out.rejects.append(Reject(source, line_no, cut(raw), reason))
            continue
        try:
            row = spec.parse(fields)
        except BadValue as exc:
            out.rejects.append(Reject(source, line_no, cut(raw), str(exc)))
            continue
        key = tuple(row[k] for k in spec.key)
        if key in seen:
            first_line, first = seen[key]
            same = first == row
            out.rejects.append(Reject(
                source, line_no, cut(raw),
                f"duplicate row (same as line {first_line})" if same
                else f"same {', '.join(spec.key)} with different values as an earlier row "
                     f"(line {first_line}); the first is kept"))
            continue
        seen[key] = (line_no, row)
        out.rows.append({**row, "_line": line_no, "_raw": raw})
    return out


_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))     # UTF-32's mark first: it begins like UTF-16's


def as_utf8(data: bytes) -> tuple[bytes, str | None]:
    """The file as UTF-8 without a byte order mark, or (b"", why it is refused). UTF-16 and UTF-32
    with their mark (Excel's "Unicode Text" export is UTF-16) are re-encoded: the mark makes them
    unambiguous. Without one such a file is refused whole: read as UTF-8, each of its lines would be
    quarantined for a different, misleading reason."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec.lower()).encode("utf-8"), None
            except UnicodeDecodeError as exc:
                return b"", (f"file starts with a {codec} byte order mark but is not valid {codec} "
                             f"({exc.reason} at byte {exc.start}); save the file as UTF-8")
    head = data[:4096]
    if len(head) >= 8 and head.count(0) * 4 >= len(head):
        return b"", ("file looks like UTF-16 or UTF-32 without a byte order mark (a quarter or more of "
                     "its first bytes are NUL); save the file as UTF-8")
    return data, None


def _is_header(raw: str, spec: FileSpec) -> bool:
    try:
        fields = next(csv.reader([raw], delimiter=spec.delimiter))
    except csv.Error:
        return False
    return tuple(f.strip().lower() for f in fields) == spec.header
