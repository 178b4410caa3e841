"""Tiny deterministic encoders for unit tests: same shapes as the real ones, no weights, instant."""
import hashlib
import re

import numpy as np


class FakeImageEncoder:
    dim = 1280
    size = 16

    def __init__(self, version: str):
        self.version = version
        rng = np.random.default_rng(0)
        self._feat = rng.standard_normal((3 * 4 * 4, self.dim)).astype(np.float32)
        self._cls = rng.standard_normal((3 * 4 * 4, 1000)).astype(np.float32)
        self.labels = [f"class {i}" for i in range(1000)]

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = x.shape[0]
        pooled = x.reshape(n, 3, 4, 4, 4, 4).mean(axis=(3, 5)).reshape(n, -1)  # 4x4 colour grid
        logits = pooled @ self._cls
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return pooled @ self._feat, probs / probs.sum(axis=1, keepdims=True)


class FakeTextEncoder:
    """Hashed bag of words: texts sharing words are close."""
    dim = 384

    def __init__(self, version: str):
        self.version = version

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                out[i, int(hashlib.md5(w.encode()).hexdigest()[:8], 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
