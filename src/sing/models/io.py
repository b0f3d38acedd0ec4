"""Model files: one self-describing safetensors file per model, never a pickle.

The file holds the weights (float32 unless saved otherwise) and, in the safetensors metadata
(string -> string):

    format          "sing-model"
    format_version  "1"   (files from a newer sing are refused with one clear line)
    kind            "sing" | "autoencoder"
    config          SingConfig JSON
    vocabulary      Vocabulary JSON (instrument names, ids, families, velocities, pitch range,
                    sample rate, note length)
    recipe          JSON of how it was trained (free form: stage, epochs, losses, ...)
    training_data   (files written by ``sing train``) JSON of the data it was trained on:
                    fingerprint of the split's train notes and note length, counts
                    (:func:`sing.data.fingerprint.training_data`)

The header is checked by hand before safetensors reads the tensors, so a truncated, foreign or
newer file gives one :class:`~sing.errors.SingError` line naming the file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.models.autoencoder import Autoencoder
from sing.models.config import SingConfig
from sing.models.header import ModelInfo, read_info, read_tensors
from sing.models.noinit import skip_random_init
from sing.models.sing import SING
from sing.models.validation import FORMAT, FORMAT_VERSION, check_tensor_values
from sing.utils.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

KINDS: dict[str, type[nn.Module]] = {"sing": SING, "autoencoder": Autoencoder}
__all__ = ["KINDS", "SAVE_DTYPES", "ModelInfo", "load_model_file", "read_info", "save_model"]
#: The floating-point types :func:`save_model` may store weights in.
SAVE_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float16, torch.bfloat16)


def num_parameters(model: nn.Module) -> int:
    """Number of learned parameters."""
    return sum(p.numel() for p in model.parameters())


def save_model(
    path: str | Path,
    model: nn.Module,
    vocabulary: Vocabulary | None = None,
    recipe: dict[str, Any] | None = None,
    training_data: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``model`` (SING or Autoencoder) to one safetensors file, atomically.

    ``vocabulary`` defaults to ``model.vocabulary``; ``training_data`` records the data it
    was trained on (:func:`sing.data.fingerprint.training_data`). ``dtype`` (one of
    :data:`SAVE_DTYPES`, e.g. ``torch.float16`` for a file half the size) stores every
    floating-point tensor in that type; None keeps the model's own. :func:`load_model_file` reads
    such a file back into the float32 modules. Returns the path written.
    """
    from safetensors.torch import save

    path = Path(path)
    kind = getattr(model, "kind", None)
    if kind not in KINDS:
        raise TypeError(f"cannot save a {type(model).__name__}: expected SING or Autoencoder")
    vocabulary = vocabulary if vocabulary is not None else getattr(model, "vocabulary", None)
    if vocabulary is None:
        raise ValueError("a model file needs the vocabulary the model was trained on")
    config: SingConfig = model.config
    if vocabulary.num_instruments != config.num_instruments:
        raise ValueError(
            f"vocabulary has {vocabulary.num_instruments} instruments, "
            f"the model {config.num_instruments}"
        )
    if vocabulary.num_velocities != config.num_velocities:
        raise ValueError(
            f"vocabulary has {vocabulary.num_velocities} velocities, "
            f"the model {config.num_velocities}"
        )
    if vocabulary.note_length != config.note_length:
        raise ValueError(
            f"vocabulary notes have {vocabulary.note_length} samples, "
            f"the model {config.note_length}"
        )
    if vocabulary.pitch_max >= config.num_pitches:
        raise ValueError(
            f"vocabulary pitches go up to {vocabulary.pitch_max}, "
            f"the model has {config.num_pitches} pitch rows"
        )
    if dtype is not None and dtype not in SAVE_DTYPES:
        raise ValueError(f"cannot save weights as {dtype}: expected one of "
                         f"{', '.join(str(d) for d in SAVE_DTYPES)}")
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "kind": kind,
        "config": config.to_json(),
        "vocabulary": vocabulary.to_json(),
        "recipe": json.dumps(recipe or {}, sort_keys=True, default=str),
    }
    if training_data is not None:
        metadata["training_data"] = json.dumps(training_data, sort_keys=True)
    atomic_write_bytes(path, save(tensors, metadata=metadata))
    logger.info("wrote %s (%s, %d parameters)", path, kind, num_parameters(model))
    return path


def load_model_file(
    path: str | Path,
    device: str | torch.device = "cpu",
    kind: str | None = None,
) -> tuple[nn.Module, ModelInfo]:
    """Load a model file written by :func:`save_model`.

    Args:
        path: the .safetensors model file.
        device: where to put the model.
        kind: ``"sing"`` or ``"autoencoder"`` to refuse the other kind with one clear line.
    Returns:
        (model in eval mode with ``.vocabulary`` set, :class:`ModelInfo`).
    """
    info = read_info(path)
    if kind is not None and info.kind != kind:
        raise SingError(f"is a {info.kind} model file, a {kind} model is needed here", info.path)
    state = read_tensors(info.path)
    check_tensor_values(state, info.path)
    # names, shapes and dtypes were checked against the config by read_info: every parameter
    # is loaded, so no random initialisation
    with skip_random_init():
        model = KINDS[info.kind](info.config, vocabulary=info.vocabulary)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:  # the file changed since its header was checked
        raise SingError(f"weights do not match its config ({str(err)[:200]})", info.path) from None
    model.to(device)
    model.eval()
    return model, info
