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


def size_of(obj, seen: set | None = None) -> int:
    """Bytes held in arrays and tensors reachable from obj (what dominates a fitted piece)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes
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


class Cache:
    """A dict that forgets its least recently used entries beyond `max_bytes` (sizes are taken
    when an entry is stored; tables that fill on use count from their next store). It serves one
    corpus: its entries are derived from that corpus' arrays, so another corpus is refused.
    keep_signals: large scoring calls' signals are kept too, for the pair models of a
    cross-validation run that differ only in their head (never for a searcher, whose query row
    changes between calls)."""

    def __init__(self, max_bytes: int = MEMO_BYTES, keep_signals: bool = False):
        self.max_bytes, self.keep_signals = max_bytes, keep_signals
        self._items: OrderedDict = OrderedDict()      # key -> (value, bytes)
        self._corpus = None

    def get(self, corpus, key, build):
        """The entry under key, built by build() if absent."""
        if self._corpus is None:
            self._corpus = corpus
        elif corpus is not self._corpus:
            raise ValueError("a Cache serves the one corpus it was first used with")
        if key not in self._items:
            self[key] = build()
        return self[key]

    def __contains__(self, key) -> bool:
        return key in self._items

    def __getitem__(self, key):
        self._items.move_to_end(key)
        return self._items[key][0]

    def __setitem__(self, key, value) -> None:
        self._items.pop(key, None)
        self._items[key] = (value, size_of(value))
        while self.nbytes > self.max_bytes and len(self._items) > 1:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    @property
    def nbytes(self) -> int:
        return sum(size for _, size in self._items.values())

    def clear(self) -> None:
        self._items.clear()
