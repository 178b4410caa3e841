"""Field validators. Each returns the clean value or raises BadValue with a reason a person understands."""
import math
import re
import unicodedata

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png")
MAX_NAME_BYTES = 255
MAX_TEXT_CHARS = 2000  # Flickr8k descriptions are under 200 characters; longer is not a caption
_TEXT_ID = re.compile(r"^(?P<image>.+)#(?P<k>\d{1,3})$")
_INT = re.compile(r"^[+]?\d{1,9}$")


class BadValue(ValueError):
    pass


def _has_control(s: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in s)


def photo_name(value: str) -> str:
    """A plain file name: no directories, no parent references, no control characters."""
    name = value.strip()
    shown = repr(name[:80])
    if not name:
        raise BadValue("photo name is empty")
    if _has_control(name):
        raise BadValue(f"photo name {shown} contains control characters")
    if "/" in name or "\\" in name:
        raise BadValue(f"photo name {shown} contains a path separator")
    if ".." in name:
        raise BadValue(f"photo name {shown} contains '..'")
    if ":" in name:
        raise BadValue(f"photo name {shown} contains ':'")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadValue(f"photo name is too long (over {MAX_NAME_BYTES} bytes)")
    if not name.lower().endswith(PHOTO_EXTENSIONS) or name.startswith("."):
        raise BadValue(f"photo name {shown} does not end in .jpg, .jpeg or .png")
    return name


def text_id(value: str, what: str = "text id") -> tuple[str, str]:
    """`<photo>#<k>` -> (id, photo). The photo part follows the photo-name rules."""
    tid = value.strip()
    m = _TEXT_ID.match(tid)
    if not m:
        raise BadValue(f"{what} {tid[:80]!r} is not of the form <photo>.jpg#<k>")
    try:
        image = photo_name(m.group("image"))
    except BadValue as exc:
        raise BadValue(f"{what} {tid[:80]!r}: {exc}") from None
    return tid, image


def text(value: str, what: str = "text") -> str:
    t = value.strip()
    if not t:
        raise BadValue(f"{what} is empty")
    if len(t) > MAX_TEXT_CHARS:
        raise BadValue(f"{what} is too long ({len(t)} characters; the limit is {MAX_TEXT_CHARS})")
    if _has_control(t):
        raise BadValue(f"{what} contains control characters")
    return t


def expert_score(value: str, what: str) -> int:
    v = value.strip()
    if not _INT.match(v) or not 1 <= int(v) <= 4:
        raise BadValue(f"{what} score {v[:40]!r} is not an integer 1..4")
    return int(v)


def count(value: str, what: str) -> int:
    v = value.strip()
    if not _INT.match(v):
        raise BadValue(f"{what} {v[:40]!r} is not a whole number >= 0")
    return int(v)


def share(value: str, what: str) -> float:
    v = value.strip()
    try:
        x = float(v)
    except ValueError:
        raise BadValue(f"{what} {v[:40]!r} is not a number") from None
    if not math.isfinite(x) or not 0.0 <= x <= 1.0:
        raise BadValue(f"{what} {v[:40]!r} is not a number in [0, 1]")
    return x
