"""Does a text ask for children? Vocabulary words and phrases (from the policy_terms table) and stated
ages under 16, matched on the normalised text. Deterministic, no model: every decision has evidence."""
import re
from dataclasses import dataclass, field

from .fuzzy import FuzzyTerms, known_word
from .normalize import joined_inner, normalize, tokens, views, without_controls

CHILD_AGE = 16
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())} | {"a": 1, "an": 1}
_NUM = r"(\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
_RU_NUM_STEMS = ("одно|двух|трех|четырех|пяти|шести|семи|восьми|девяти|десяти|одиннадцати|двенадцати|"
                 "тринадцати|четырнадцати|пятнадцати")
_PERSONS = ("lad|lass|boy|girl|child|kid|youngster|son|daughter|pupil|student|player|pianist|dancer|"
            "singer|skater|swimmer|gymnast|twin|twins|brother|sister")
_SQUADS = ("team|teams|squad|squads|side|league|players|division|group|category|club|tournament|cup|match|"
           "game|soccer|football|hockey|rugby|basketball|baseball|cricket|netball|athletes|swimmers")
# (pattern, unit): 'years' reads the number as an age; 'young' is under 16 whatever the number
# (months, weeks, Russian 'N-летний' stems, which stop at 15)
_AGE_PATTERNS = [
    (re.compile(rf"\b{_NUM} ?(?:years?|yrs?|y) ?olds?\b"), "years"),
    (re.compile(rf"\b{_NUM} ?(?:years?|yrs?) of age\b"), "years"),
    (re.compile(r"\b(\d{1,3}) ?(?:yo|y o)\b"), "years"),
    (re.compile(rf"\b(?:aged?|ages) {_NUM}\b"), "years"),
    # "a lad of nine": an age after a word for a person, never "a family of four"
    (re.compile(rf"\b(?:{_PERSONS}) of {_NUM}\b"), "years"),
    # "she is six", "who just turned 7"; never "she is one of them", "he is 5 feet tall"
    (re.compile(rf"\b(?:he|she|who|they|kid|child|boy|girl|son|daughter)(?: is| was| s| are| just)?"
                rf" (?:is|was|turns|turned|aged?) {_NUM}\b(?! (?:of|feet|foot|ft|cm|inches|kg|pounds)\b)"),
     "years"),
    # youth sport: "a junior soccer team"
    (re.compile(rf"\bjunior (?:\w+ )?(?:{_SQUADS})\b"), "young"),
    # youth sport: "an under-12 team", "u14 squad"
    (re.compile(rf"\b(?:under|u) ?(\d{{1,2}})(?:s\b| (?:\w+ )?(?:{_SQUADS})\b)"), "years"),
    (re.compile(rf"\b{_NUM} ?(?:months?|weeks?|days?) old\b"), "young"),
    (re.compile(r"\bgrade ?[1-9]\b"), "young"),                       # school grades 1-9
    (re.compile(r"\b(\d{1,3}) ?(?:лет|года|год|годик\w*|летн\w*)\b"), "years"),
    (re.compile(r"\b(?:[1-9] ?(?:го|и|ого|ом|ыи)?|перв|втор|трет|четверт|пят|шест|седьм|восьм|девят)\w* ?"
                r"класс(?:а|е|ы|ов|ам|ах|ами|ник\w*|ниц\w*)?\b"), "young"),
    (re.compile(r"\b(\d{1,3}) ?(?:месяц\w*|мес|недел\w*)\b"), "young"),
    (re.compile(rf"\b(?:{_RU_NUM_STEMS}) ?лет[нк]\w*"), "young"),   # пятилетний: every stem is under 16
]


@dataclass(frozen=True)
class Term:
    term: str            # normalised; phrases are space-separated words
    lang: str
    match: str           # 'word' or 'prefix'
    decision: str        # 'child' or 'not_child'


@dataclass
class Vocabulary:
    terms: list[Term]
    _words: dict = field(init=False, repr=False)
    _prefixes: list = field(init=False, repr=False)
    fuzzy: FuzzyTerms = field(init=False, repr=False)

    def __post_init__(self):
        self._words, self._prefixes = {}, []
        for t in self.terms:
            if t.match == "prefix":
                self._prefixes.append(t)
            else:
                self._words.setdefault(_key(tuple(t.term.split())), t)
        # the longest stem decides: "мальчишник" (not_child) before "мальчиш" (child)
        self._prefixes.sort(key=lambda t: -len(t.term))
        child = [t for t in self.terms if t.decision == "child"]
        self.fuzzy = FuzzyTerms([t.term for t in child if t.match == "word"],
                                [t.term for t in child if t.match == "prefix"])
        # longest phrases first, so "young man" is decided before a one-word term could be
        self.max_len = max((len(t.term.split()) for t in self.terms), default=1)

    @classmethod
    def from_rows(cls, rows) -> "Vocabulary":
        terms = []
        for term, lang, match, decision in rows:
            text = normalize(term)
            # a hyphenated term is matched as its words and, as views() reads "я/с/л/и/-/с/а/д", joined
            forms = dict.fromkeys([" ".join(tokens(text)), " ".join(tokens(joined_inner(text)))])
            terms += [Term(form, lang, match, decision) for form in forms]
        return cls(terms)

    def lookup(self, words: tuple[str, ...]) -> Term | None:
        hit = self._words.get(_key(words))
        if hit is None and len(words) == 1:
            hit = next((t for t in self._prefixes if words[0].startswith(t.term)), None)
            if hit is None:
                # "chiiild" normalises to "chiild": try each doubled letter once (guarded by
                # not_child words such as "soon", which are found first, exactly)
                hit = next((self._words[_key((v,))] for v in _undoubled(words[0])
                            if _key((v,)) in self._words), None)
        if hit is None and len(words[-1]) > 3 and words[-1].endswith("s"):
            # a possessive read as a word: "children's" -> "childrens", "baby's" -> "babys"
            hit = self.lookup((*words[:-1], words[-1][:-1]))
        return hit


def _key(words: tuple[str, ...]) -> tuple[str, ...]:
    # "1" reads as "i" after normalisation but may have stood for "l" ("ch1ld"): treat them as one
    return tuple(w.replace("l", "i") for w in words)


def _undoubled(word: str) -> list[str]:
    spots = [i for i in range(1, len(word)) if word[i] == word[i - 1] and word[i].isalpha()]
    return [word[:i] + word[i + 1:] for i in spots]


@dataclass
class Decision:
    is_child: bool
    evidence: list[str]          # "boy", "age 5", "classifier p=0.91 >= 0.82; nearest ...", ...
    source: str | None = None    # what decided: 'vocabulary', 'classifier' (None: the words alone, no model)
    score: float | None = None   # the meaning classifier's probability, when it read the text
    notes: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str | None:
        return "the query asks for photos of children" if self.is_child else None


def check(text: str, vocab: Vocabulary) -> Decision:
    evidence: list[str] = []
    # every reading of the text: controls as spaces or deleted, ambiguous words in Latin or Cyrillic
    readings = (normalize(t, tie) for t in (text, without_controls(text)) for tie in ("lat", "cyr"))
    for norm in dict.fromkeys(readings):
        for words in views(norm):
            evidence += _vocabulary_hits(words, vocab)
        evidence += _age_hits(re.sub(r"[-‐‑–—_/]", " ", norm))
    seen = list(dict.fromkeys(evidence))
    exact = [e for e in seen if "(read as" not in e]
    # the loose readings of another view ("childre" in "c h i l d r e n") add nothing to an exact hit
    return Decision(bool(seen), exact or seen, "vocabulary" if seen else None)


def term_keys(decision: Decision, vocab: Vocabulary) -> frozenset[str]:
    """The vocabulary entries behind a decision's evidence, inflection aside ("ребят" and "ребята" are
    one stem), so that two texts can be asked whether the same word flagged them."""
    keys = set()
    for e in decision.evidence:
        if e.startswith("age"):
            keys.add("age")
            continue
        read = re.search(r"\(read as (.+)\)$", e)
        words = tuple((read.group(1) if read else e).split())
        term = vocab.lookup(words)
        keys.add(term.term if term is not None else " ".join(words))
    return frozenset(keys)


def _vocabulary_hits(words: list[str], vocab: Vocabulary) -> list[str]:
    """Scan left to right, longest phrase first; a not_child phrase consumes its words."""
    hits, i = [], 0
    while i < len(words):
        for n in range(min(vocab.max_len, len(words) - i), 0, -1):
            term = vocab.lookup(tuple(words[i:i + n]))
            if term is not None:
                if term.decision == "child":
                    hits.append(" ".join(words[i:i + n]))
                i += n
                break
        else:
            i += 1 + _loose_hit(words, i, vocab, hits)
    return hits


def _loose_hit(words: list[str], i: int, vocab: Vocabulary, hits: list[str]) -> int:
    """A child word split by a space ("ch ildren") or misspelt ("todler"): appends the hit and returns
    the words it used beyond the first."""
    for n in (2, 3):
        joined = "".join(words[i:i + n])
        # only where a part is not a word itself: "ch ildren", never "steps on" (stepson)
        term = (vocab.lookup((joined,)) if len(joined) >= 4 and i + n <= len(words)
                and not all(map(known_word, words[i:i + n])) else None)
        if term is not None and term.decision == "child":
            hits.append(f"{' '.join(words[i:i + n])} (read as {joined})")
            return n - 1
    near = vocab.fuzzy.match(words[i])
    if near is not None:
        hits.append(f"{words[i]} (read as {near})")
    return 0


def _age_hits(text: str) -> list[str]:
    hits = []
    for pattern, unit in _AGE_PATTERNS:
        for m in pattern.finditer(text):
            if unit == "young":
                hits.append(f"age under {CHILD_AGE}: {m.group(0)}")
                continue
            n = m.group(1)
            age = int(n) if n.isdigit() else _NUMBER_WORDS[n]
            if age < CHILD_AGE:
                hits.append(f"age {age}: {m.group(0)}")
    return hits
