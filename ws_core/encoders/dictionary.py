"""An English-Russian dictionary for the word gloss (multilingual.py): which Russian words translate
each English description word, so a Russian word is glossed as one of its translations rather than
whatever English word USE-m happens to place nearest ("упряжка" was "strap", now "team").

Read from a dictionary in the dictd format (an .index file beside its .dict.dz), by default Debian's
`mueller7-dict` (V. K. Mueller's English-Russian dictionary, 7th edition, 44,000 headwords, GPL;
`apt install mueller7-dict`), or the index file WS_EN_RU_DICTIONARY names ("none": no dictionary).
The project does not ship it: without one the gloss takes the nearest word in USE-m space, as before.
"""
import gzip
import hashlib
import os
import re
from pathlib import Path

from ..errors import WsError

DEFAULT = Path("/usr/share/dictd/mueller7.index")
ENV = "WS_EN_RU_DICTIONARY"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SENSE = re.compile(r"\b\d+[.)]")                   # "1. _n." parts of speech, "2)" senses
_LABEL = re.compile(r"_\S+")                        # _n. _v. _разг. _тех. _I (grammar, register, homonym)
_NOTE = re.compile(r"\[[^\]]*\]|\([^)]*\)")         # transcription, remarks in brackets
_REFERENCE = re.compile(r"^=\s*([a-z][a-z\-]*)")    # "sled = sledge I"
_RUSSIAN = re.compile(r"^[а-яё]+(-[а-яё]+)*$")


def switched_off() -> bool:
    return os.environ.get(ENV, "").strip().lower() == "none"


def located() -> Path | None:
    """The dictionary's index file, if there is one: WS_EN_RU_DICTIONARY, else Debian's Mueller."""
    if switched_off():
        return None
    named = os.environ.get(ENV, "").strip()
    path = Path(named or DEFAULT)
    if path.is_file() and _body(path) is not None:
        return path
    if named:
        raise WsError(f"{ENV} names {named}, which is not a dictd index with its .dict.dz (or .dict) beside "
                      f"it; point it at one (e.g. {DEFAULT}) or set it to 'none'.")
    return None


def _body(index: Path) -> Path | None:
    return next((p for p in (index.with_suffix(".dict.dz"), index.with_suffix(".dict")) if p.is_file()), None)


def identity(index: Path) -> str:
    """What a stored gloss was built from: the dictionary's name and a digest of its index."""
    return f"{index.stem} sha256:{hashlib.sha256(index.read_bytes()).hexdigest()[:16]}"


def fold(word: str) -> str:
    """Stress marks dropped and ё read as е, as dictionaries and typists write them either way."""
    return word.lower().replace("\u0301", "").replace("\u0300", "").replace("ё", "е")


def _offset(code: str) -> int:
    n = 0
    for ch in code:
        n = n * 64 + _B64.index(ch)
    return n


def _entries(index: Path) -> dict[str, list[str]]:
    """Headword (lower case) -> its entries' text. dictd's index gives each entry's offset and length
    in base 64; the body is dictzip, which gzip reads."""
    body = _body(index)
    raw = gzip.open(body).read() if body.suffix == ".dz" else body.read_bytes()
    out: dict[str, list[str]] = {}
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith(("00-database", "_")):
            continue
        try:
            start, length = _offset(parts[1]), _offset(parts[2])
        except ValueError:
            continue
        out.setdefault(parts[0].lower(), []).append(raw[start:start + length].decode("utf-8", "replace"))
    return out


def _senses(entry: str) -> tuple[list[str], list[str]]:
    """An entry's one-word Russian translations (each sense's leading words, before the first ';':
    the rest are idioms and examples) and the headwords it refers to ("= sledge")."""
    text = _NOTE.sub(" ", " ".join(entry.splitlines()[1:]))
    words, references = [], []
    for sense in _SENSE.split(text):
        sense = _LABEL.sub(" ", sense).strip()
        ref = _REFERENCE.match(sense)
        if ref:
            references.append(ref.group(1))
            continue
        for part in sense.split(";")[0].split(","):
            word = fold(part.strip())
            if _RUSSIAN.match(word):
                words.append(word)
    return words, references


def translations(index: Path, english: set[str]) -> dict[str, list[str]]:
    """English word (of `english`) -> its one-word Russian translations, in the dictionary's order;
    a reference to another headword brings that headword's translations."""
    entries = _entries(index)

    def read(word):
        words, refs = [], []
        for entry in entries.get(word, []):
            w, r = _senses(entry)
            words += w
            refs += r
        return words, refs
    out = {}
    for word in sorted(english):
        words, refs = read(word)
        for ref in refs:
            words += read(ref)[0]
        if words:
            out[word] = list(dict.fromkeys(words))
    return out
