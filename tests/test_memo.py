import numpy as np
import pytest
import torch

from ws_core.memo import Cache, digest, size_of


def test_size_of_counts_arrays_tensors_and_modules_once():
    a = np.zeros(1000, dtype=np.float32)
    net = torch.nn.Linear(10, 5)            # 50 weights + 5 biases, float32
    assert size_of(a) == 4000
    assert size_of((a, [a, {"x": a}])) == 4000      # the same array reached three times
    assert size_of({"net": net, "t": torch.zeros(3, dtype=torch.float64)}) == 55 * 4 + 24

    class Piece:
        def __init__(self):
            self.cache, self.name = np.ones((2, 8)), "bridge"
    assert size_of(Piece()) == 128


def test_cache_forgets_the_least_recently_used_beyond_its_budget():
    memo = Cache(max_bytes=3000)
    memo["a"], memo["b"] = np.zeros(1000, np.uint8), np.zeros(1000, np.uint8)
    assert memo["a"].shape == (1000,)            # read: "a" is now the most recent
    memo["c"] = np.zeros(1500, np.uint8)
    assert list(memo) == ["a", "c"] and memo.nbytes == 2500
    memo["huge"] = np.zeros(10_000, np.uint8)    # larger than the budget: kept alone
    assert list(memo) == ["huge"] and "a" not in memo and len(memo) == 1


def test_cache_builds_once_and_serves_one_corpus():
    cache, built, corpus = Cache(), [], object()
    for _ in range(2):
        assert cache.get(corpus, "k", lambda: built.append(1) or np.ones(3)).sum() == 3
    assert built == [1]
    with pytest.raises(ValueError, match="a Cache serves the one corpus it was first used with"):
        cache.get(object(), "k", lambda: None)


def test_digest_names_contents_dtype_and_shape():
    a = np.arange(6)
    assert digest(a) == digest(np.arange(6)) != digest(a.reshape(2, 3)) != digest(a.astype(np.int32))
    assert digest(a, a) != digest(a)


def test_tables_that_fill_on_use_count_as_they_grow():
    from ws_core.memo import Lru
    from ws_core.scorers.bridges import LazyRows
    tables = Lru(max_bytes=10_000, growing=True)
    table = LazyRows(100, lambda rows: (np.zeros((len(rows), 10)),))      # 80 bytes a row once computed
    tables["table"] = table
    assert tables.nbytes == 100                      # only its bookkeeping (the done flags) so far
    table.ensure(np.arange(30))
    tables["small"] = np.zeros(100, np.uint8)
    assert tables.nbytes == 100 + 30 * 80 + 100
    tables["more"] = np.zeros(7500, np.uint8)        # over the budget: the table, least recent, goes
    assert list(tables) == ["small", "more"]


def test_derived_tables_have_their_own_budget():
    cache, corpus = Cache(max_bytes=3000, table_bytes=1000), object()
    cache.get(corpus, "tower", lambda: np.zeros(2000, np.uint8))
    cache.get(corpus, "neighbours", lambda: np.zeros(900, np.uint8), table=True)
    cache.get(corpus, "cosines", lambda: np.zeros(900, np.uint8), table=True)
    assert list(cache) == ["tower"] and list(cache.tables) == ["cosines"]


def test_a_table_that_grew_since_its_store_counts_on_the_next_get():
    from ws_core.scorers.bridges import LazyRows
    cache, corpus = Cache(table_bytes=4000), object()
    old = cache.get(corpus, "old", lambda: LazyRows(100, lambda rows: (np.zeros((len(rows), 10)),)), table=True)
    cache.get(corpus, "new", lambda: np.zeros(100, np.uint8), table=True)
    old.ensure(np.arange(60))                     # 4,800 bytes computed after it was stored
    assert cache.get(corpus, "new", lambda: None, table=True).shape == (100,)
    assert list(cache.tables) == ["new"]          # measured on that get: over the budget, the old one went
