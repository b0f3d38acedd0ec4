"""One place that turns a ``--device`` string into a ``torch.device``."""

from __future__ import annotations

import torch

from sing.errors import SingError


def resolve_device(name: str | torch.device) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``, ``cuda``, ``cuda:N`` as given.

    Raises :class:`SingError` (one line) for an unknown device or CUDA without a GPU.
    """
    if isinstance(name, torch.device):
        device = name
    elif name == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(name)
        except RuntimeError:
            raise SingError(
                f"unknown device '{name}' (expected auto, cpu, cuda or cuda:N)"
            ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SingError(f"device '{name}' asked for, but no CUDA GPU is available")
    if device.type not in ("cpu", "cuda"):
        raise SingError(f"unsupported device '{name}' (expected auto, cpu, cuda or cuda:N)")
    return device
