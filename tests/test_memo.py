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
