"""A bounded cache of fitted pieces that models over one corpus share (towers, bridges, signals)."""
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


class Memo:
    """A dict that forgets its least recently used entries beyond `max_bytes` (sizes are taken
    when an entry is stored; caches that grow inside a stored piece count from its next store)."""

    def __init__(self, max_bytes: int = MEMO_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()      # key -> (value, bytes)

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
