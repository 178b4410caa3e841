"""Text normalisation for the children rule: undo the spelling tricks people use to get past a word
list, so that the vocabulary can stay a list of plain words.

normalize() is idempotent (a property test holds it to that). Matching runs on two views of the
normalised text: with punctuation inside words joined ("ch-ild" -> "child") and split ("mother-daughter"
-> "mother daughter"); see views().
"""
import re
import unicodedata

# Zero-width, bidi and other format characters (Unicode category Cf) vanish; controls become spaces.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l"})
# Cyrillic and Latin letters that look alike: a mixed-script word is rewritten in its majority script.
_CYR_TO_LAT = str.maketrans("аеорсухкміт", "aeopcyxkmit")
_LAT_TO_CYR = str.maketrans("aeopcyxkmt", "аеорсухкмт")
_WORD_INNER = re.compile(r"(?<=\w)[-‐‑‒–—_.'’*·](?=\w)")
_REPEAT = re.compile(r"(\w)\1{2,}")            # 3+ of a letter -> 2: "teeeen" -> "teen"
_TOKEN = re.compile(r"[\w@$!|]+")


def _fold_char(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat == "Cf":
        return ""
    if cat in ("Cc", "Zl", "Zp", "Zs"):
        return " "
    return ch


def _fix_token(tok: str) -> str:
    core = tok.strip("@$!|_")           # "kids!" keeps its "!" outside the word
    if not core:
        return tok
    if core != tok:
        i = tok.index(core)
        return tok[:i] + _fix_token(core) + tok[i + len(core):]
    if re.search(r"[^\W\d_][\d@$!|]", tok):
        tok = tok.translate(_LEET)          # a digit after a letter: "k1ds", "b0y"; not "5yo", "12th"
    lat = sum("a" <= c <= "z" for c in tok)
    cyr = sum("а" <= c <= "я" for c in tok)
    if lat and cyr:
        tok = tok.translate(_CYR_TO_LAT) if lat >= cyr else tok.translate(_LAT_TO_CYR)
    return _REPEAT.sub(r"\1\1", tok)


def normalize(text: str) -> str:
    """NFKC, case folding, accents and diacritics dropped (ё -> е, й -> и), format characters removed,
    digit-for-letter and mixed-script tricks undone inside words, runs of 3+ letters cut to 2, spaces
    collapsed. Punctuation between words is kept; views() decides what it means."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(_fold_char(c) for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))
    text = unicodedata.normalize("NFC", text)
    text = _TOKEN.sub(lambda m: _fix_token(m.group()), text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def views(normalized: str) -> list[list[str]]:
    """Token lists to match: punctuation inside words removed ("k.i.d.s" -> kids), and as a separator."""
    joined = tokens(_WORD_INNER.sub("", normalized))
    split = tokens(re.sub(r"(?<=\w)['’](?=\w)", "", normalized))   # "goat's" stays one word
    return [joined] if joined == split else [joined, split]
