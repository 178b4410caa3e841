"""The cache a run hands down to the scorers it fits and scores with: fitted pieces that models over
one corpus share (towers, bridges, training signals) and the tables a fitted scorer derives from the
corpus' photos (neighbours, projections, photo cosines). Scorers keep no such state themselves: a
cross-validation run, a score job or a searcher makes one Cache, bounded in bytes, and passes it down;
without one, a call computes what it needs and keeps nothing."""
import hashlib
from collections import OrderedDict

import numpy as np

# Enough for every two-tower of a 5-fold run with its pair models' inner towers (16 x ~18 MB) and
# the bridges of one outer fold; beyond it the least recently used piece is fitted again if needed.
MEMO_BYTES = 1536 << 20
# Tables derived from fitted scorers (neighbours, projections, photo cosines): every table of the
# active model over the full data (about 600 MB) for a searcher or a score job. A training run keeps
# less (training.run_cache): its pair models share their large scoring calls' signals instead.
TABLE_BYTES = 1024 << 20


def size_of(obj, seen: set | None = None) -> int:
    """Bytes held in arrays and tensors reachable from obj (what dominates a fitted piece)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray) or hasattr(type(obj), "nbytes"):     # arrays; tables that fill on use
        return int(obj.nbytes)
    if hasattr(obj, "element_size") and hasattr(obj, "nelement"):      # a torch tensor
        return obj.element_size() * obj.nelement()
    if hasattr(obj, "state_dict"):                                      # a torch module
        return sum(size_of(v, seen) for v in obj.state_dict().values())
    if isinstance(obj, dict):
        return sum(size_of(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        return sum(size_of(v, seen) for v in obj)
    if hasattr(obj, "__dict__"):
        return size_of(vars(obj), seen)
    return 0


def digest(*arrays) -> str:
    """A short name for what a fit learnt from (its training photos, its pairs): keys stay small."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Lru:
    """A dict that forgets its least recently used entries beyond `max_bytes`. growing: every
    entry's size is taken again when one is stored (tables that fill on use count as they grow)."""

    def __init__(self, max_bytes: int, growing: bool = False):
        self.max_bytes, self.growing = max_bytes, growing
        self._items: OrderedDict = OrderedDict()      # key -> (value, bytes)

    def __contains__(self, key) -> bool:
        return key in self._items

    def __getitem__(self, key):
        self._items.move_to_end(key)
        return self._items[key][0]

    def __setitem__(self, key, value) -> None:
        self._items.pop(key, None)
        if self.growing:
            self.measure()
        self._items[key] = (value, size_of(value))
        self._trim()

    def _trim(self) -> None:
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            self._items.popitem(last=False)

    def measure(self) -> None:
        """Sizes taken again and the budget kept (a growing pool's tables fill between stores)."""
        self._items = OrderedDict((k, (v, size_of(v))) for k, (v, _) in self._items.items())
        self._trim()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    @property
    def nbytes(self) -> int:
        return sum(size for _, size in self._items.values())


class Cache(Lru):
    """Fitted pieces (this dict, up to `max_bytes`) and the tables derived from fitted scorers and
    the corpus' photos (`tables`, a budget of its own: a cheap table never pushes out a tower that
    took a minute to fit). It serves one corpus: its entries are derived from that corpus' arrays,
    so another corpus is refused. keep_signals: large scoring calls' signals are kept too, for the
    pair models of a cross-validation run that differ only in their head (never for a searcher,
    whose query row changes between calls)."""

    def __init__(self, max_bytes: int = MEMO_BYTES, table_bytes: int = TABLE_BYTES, keep_signals: bool = False):
        super().__init__(max_bytes)
        self.tables, self.keep_signals = Lru(table_bytes, growing=True), keep_signals
        self._corpus = None

    def get(self, corpus, key, build, table: bool = False):
        """The entry under key (among the tables if `table`), built by build() if absent."""
        if self._corpus is None:
            self._corpus = corpus
        elif corpus is not self._corpus:
            raise ValueError("a Cache serves the one corpus it was first used with")
        pool = self.tables if table else self
        if key not in pool:
            pool[key] = build()
        value = pool[key]        # now the most recent: trimmed last
        if table:
            pool.measure()       # what the tables computed since they were stored counts now
        return value
