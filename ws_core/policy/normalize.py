"""Text normalisation for the children rule: undo the spelling tricks people use to get past a word
list, so that the vocabulary can stay a list of plain words.

normalize() is idempotent (a property test holds it to that). Matching runs on several views of the
normalised text: punctuation inside words joined ("ch-ild", "k/i/d/s" -> one word) and split
("mother-daughter" -> two words), and runs of single letters joined ("c h i l d"); see views().
check() also reads the text once more with control characters deleted rather than spaced, since a
control character inside a word ("bo\\x01ys") must not split it while a newline between words must not
join them.
"""
import functools
import json
import re
import unicodedata
from pathlib import Path

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l"})
# Latin letters (and what other scripts fold to) that look like a Cyrillic letter, upper or lower case
_LAT_TO_CYR = str.maketrans("aeopcyxkmthbi", "аеорсухкмтнви")
_AMBIGUOUS_LAT, _AMBIGUOUS_CYR = set("aeopcyxkmthbi"), set("аеорсухкмтнви")
_WORD_INNER = re.compile(r"(?<=\w)[-‐‑‒–—_.'’*·/\\]+(?=\w)")
_REPEAT = re.compile(r"(\w)\1{2,}")            # 3+ of a letter -> 2: "teeeen" -> "teen"
_TOKEN = re.compile(r"[\w@$!|]+")
_LATIN_NAME = re.compile(r"^LATIN (?:SMALL |CAPITAL )?LETTER (?:SMALL CAPITAL |DOTLESS )?([A-Z])(?: WITH .*)?$")
# look-alikes Unicode's table links only through letters that are not a-z themselves (κ -> ĸ)
_EXTRA_LATIN = {"ĸ": "k", "κ": "k", "ϰ": "k", "ι": "i", "ν": "v", "τ": "t", "υ": "u", "η": "n", "ѕ": "s"}


@functools.cache
def to_latin() -> dict[str, str]:
    """Lower-case letters of any script that look like a Latin a-z: Unicode's confusables (TR39, as
    packaged by confusable-homoglyphs), Latin small capitals and stroked letters by their names.
    Kept in the cache folder once built (40 ms of every `ws search` otherwise)."""
    import os
    from importlib.metadata import version

    from ..config import cache_dir
    path = cache_dir() / f"to-latin-{version('confusable-homoglyphs')}-{unicodedata.unidata_version}.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        pass
    table = _build_to_latin()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(table, ensure_ascii=False), "utf-8")
        os.replace(tmp, path)
    except OSError:             # an unwritable cache: built again next time
        pass
    return table


def _build_to_latin() -> dict[str, str]:
    import confusable_homoglyphs
    graph = json.loads((Path(confusable_homoglyphs.__file__).parent / "confusables.json").read_text("utf-8"))
    table = dict(_EXTRA_LATIN)
    for ch in sorted(graph, key=lambda c: c != c.casefold()):      # lower-case entries first
        low = ch.casefold()
        if len(low) != 1 or low.isascii() or low in table or not unicodedata.category(low).startswith("L"):
            continue
        latin = [g["c"].casefold() for g in graph[ch]
                 if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalpha()]
        if latin:
            table[low] = latin[0]
    for code in range(0x80, 0x2C80):
        ch = chr(code)
        m = _LATIN_NAME.match(unicodedata.name(ch, ""))
        if m and ch == ch.casefold() and ch not in table:
            table[ch] = m.group(1).lower()
    for code in range(0xA720, 0xA800):                               # Latin Extended-D small capitals
        m = _LATIN_NAME.match(unicodedata.name(chr(code), ""))
        if m:
            table.setdefault(chr(code), m.group(1).lower())
    return table


def _fold_char(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat == "Cf":
        return ""
    if cat in ("Cc", "Zl", "Zp", "Zs"):
        return " "
    return ch


def _is_lat(c: str) -> bool:
    return "a" <= c <= "z"


def _is_cyr(c: str) -> bool:
    return "а" <= c <= "я"


def _fold_script(tok: str, tie: str) -> str:
    """Rewrite a word in its script: the one more of its letters without a look-alike in the other
    belong to, else the one it has letters of, else `tie` ('lat' or 'cyr': check() reads a word of
    look-alikes from both scripts both ways). Look-alike letters of other scripts are folded into it,
    others stay."""
    lat, cyr = sum(map(_is_lat, tok)), sum(map(_is_cyr, tok))
    if lat + cyr == len(tok) and not (lat and cyr):
        return tok                      # one script only, nothing foreign: nothing to fold
    latin = to_latin()
    # letters with no look-alike in the other script decide first: "cынy" is Cyrillic
    strong_lat = sum(not _is_cyr(c) and _is_lat(f := latin.get(c, c)) and f not in _AMBIGUOUS_LAT
                     for c in tok)
    strong_cyr = sum(_is_cyr(c) and c not in _AMBIGUOUS_CYR for c in tok)
    if strong_cyr != strong_lat:
        to_cyr = strong_cyr > strong_lat
    else:
        # letters of other scripts that fold to Latin count as Latin: "ᴛоᴛ" is "tot" read the Latin way
        lat += sum(not _is_lat(c) and not _is_cyr(c) and _is_lat(latin.get(c, c)) for c in tok)
        to_cyr = cyr > 0 and (lat == 0 or tie == "cyr")
    if to_cyr:
        return "".join(c if _is_cyr(c) or not c.isalpha() else latin.get(c, c).translate(_LAT_TO_CYR)
                       for c in tok)
    return "".join(c if _is_lat(c) else latin.get(c, c) for c in tok)


def _fix_token(tok: str, tie: str) -> str:
    core = tok.strip("@$!|_")           # "kids!" keeps its "!" outside the word
    if not core:
        return tok
    if core != tok:
        i = tok.index(core)
        return tok[:i] + _fix_token(core, tie) + tok[i + len(core):]
    if re.search(r"[^\W\d_][\d@$!|]", tok):
        tok = tok.translate(_LEET)          # a digit after a letter: "k1ds", "b0y"; not "5yo", "12th"
    return _REPEAT.sub(r"\1\1", _fold_script(tok, tie))


def normalize(text: str, tie: str = "lat") -> str:
    """NFKC, case folding, accents and diacritics dropped (ё -> е, й -> и), format characters removed,
    controls spaced, digit-for-letter and look-alike-letter tricks undone inside words, runs of 3+
    letters cut to 2, spaces collapsed. Punctuation between words is kept; views() decides what it means.
    tie: the script of a word whose letters could be read in either ("bоу" with Cyrillic о and у)."""
    latin = to_latin()
    # a look-alike that NFKC would turn into another letter first (Greek lunate sigma -> sigma)
    text = "".join(latin[c] if c in latin and unicodedata.normalize("NFKC", c) != c else c for c in text)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(_fold_char(c) for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))
    text = unicodedata.normalize("NFC", text)
    text = _TOKEN.sub(lambda m: _fix_token(m.group(), tie), text)
    return " ".join(text.split())


def without_controls(text: str) -> str:
    """The text with control, format and line-separator characters deleted (not spaced)."""
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _join_letter_runs(words: list[str], lead: int, tail: int) -> list[str]:
    """'c h i l d r e n' -> 'children': three or more one-letter words in a row are read as one word,
    leaving `lead` letters before it and `tail` after apart (an article or preposition: "a k i d",
    "д е т и в")."""
    out, run = [], []
    for w in [*words, ""]:
        if len(w) == 1:
            run.append(w)
            continue
        if len(run) - lead - tail >= 3:
            out += run[:lead] + ["".join(run[lead:len(run) - tail])] + run[len(run) - tail:]
        else:
            out += run
        run = []
        if w:
            out.append(w)
    return out


def joined_inner(normalized: str) -> str:
    """Punctuation inside words removed: "k.i.d.s" -> "kids", "ясли-сад" -> "яслисад"."""
    return _WORD_INNER.sub("", normalized)


def views(normalized: str) -> list[list[str]]:
    """Token lists to match: punctuation inside words removed ("k.i.d.s" -> kids), punctuation as a
    separator, and runs of single letters joined."""
    joined = tokens(joined_inner(normalized))
    split = tokens(re.sub(r"(?<=\w)['’](?=\w)", "", normalized))   # "goat's" stays one word
    found = [joined, split] + [_join_letter_runs(split, lead, tail) for lead in (0, 1) for tail in (0, 1)]
    return [v for i, v in enumerate(found) if v not in found[:i]]
