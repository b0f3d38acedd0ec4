"""Models: sequence generator, convolutional encoder/decoder, autoencoder, SING, model files.

The names below are imported on first use (PEP 562), so that a torch-free part of the package
(the length arithmetic, model-file validation, :mod:`sing.models.numpy_sing`) does not import
torch through this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Autoencoder": "sing.models.autoencoder",
    "PRESETS": "sing.models.config",
    "SingConfig": "sing.models.config",
    "Decoder": "sing.models.decoder",
    "Encoder": "sing.models.encoder",
    "ModelInfo": "sing.models.header",
    "read_info": "sing.models.header",
    "load_model_file": "sing.models.io",
    "save_model": "sing.models.io",
    "SequenceGenerator": "sing.models.sequence_generator",
    "SING": "sing.models.sing",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sing.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
