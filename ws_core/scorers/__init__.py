"""Scorers: (photo, text) pairs -> a number in [0, 1]. Each has fit / score / save / load and a
dataclass of hyperparameters saved with its weights.

score(corpus, img, txt) takes aligned arrays of photo and text indices into the corpus. Anything
that borrows descriptions never uses, for a pair, those of the photo itself nor those of the photo
the text was written for.
"""
from .base import Scorer, load_scorer, save_scorer
from .bridges import CaptionTransfer, LabelBridge, PhotoTransfer, TwoTower
from .pair import PairScorer
from .seed import SeedLinear, SeedMLP

KINDS = {c.kind: c for c in (SeedLinear, SeedMLP, LabelBridge, TwoTower, CaptionTransfer, PhotoTransfer,
                                  PairScorer)}

__all__ = ["KINDS", "Scorer", "load_scorer", "save_scorer"]
