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
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError, describe_os_error
from sing.models.autoencoder import Autoencoder
from sing.models.config import SingConfig
from sing.models.noinit import skip_random_init
from sing.models.sing import SING
from sing.models.validation import (
    FORMAT,
    FORMAT_VERSION,
    check_tensor_values,
    validate_metadata,
)
from sing.utils.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

KINDS: dict[str, type[nn.Module]] = {"sing": SING, "autoencoder": Autoencoder}
#: The floating-point types :func:`save_model` may store weights in.
SAVE_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float16, torch.bfloat16)
_MAX_HEADER = 100 * 1024 * 1024
_DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
                "I8": 1, "U8": 1, "BOOL": 1}


@dataclass
class ModelInfo:
    """What a model file says about itself (everything but the weights)."""

    path: Path
    kind: str
    config: SingConfig
    vocabulary: Vocabulary
    recipe: dict[str, Any] = field(default_factory=dict)
    training_data: dict[str, Any] | None = None
    format_version: int = FORMAT_VERSION
    num_parameters: int = 0
    size_bytes: int = 0
    dtype: str = "F32"


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


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    """Parse and check the safetensors header; returns (header, file size)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise SingError("not a sing model file (too short to be safetensors)", path)
            (n,) = struct.unpack("<Q", head)
            if n > _MAX_HEADER or 8 + n > size:
                if n > _MAX_HEADER:
                    raise SingError("not a sing model file (not safetensors)", path)
                raise SingError("truncated model file (header cut short)", path)
            raw = f.read(n)
    except OSError as err:
        raise SingError(describe_os_error(err, path).split(": ", 1)[-1], path) from None
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        raise SingError("not a sing model file (not safetensors)", path) from None
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            start, stop = entry["data_offsets"]
            end = max(end, int(stop))
            if int(stop) - int(start) != _DTYPE_SIZES.get(entry["dtype"], 0) * _numel(entry):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise SingError(f"corrupt model file (bad entry for tensor {name})", path) from None
    if 8 + n + end > size:
        raise SingError(
            f"truncated model file ({size} bytes, the header promises {8 + n + end})", path
        )
    return header, size


def _numel(entry: dict[str, Any]) -> int:
    count = 1
    for d in entry["shape"]:
        count *= int(d)
    return count


def read_info(path: str | Path, check_values: bool = False) -> ModelInfo:
    """Read a model file's metadata without loading the weights: every field is checked
    (:func:`sing.models.validation.validate_metadata`), tensor shapes and dtypes included.
    ``check_values`` also reads every tensor and refuses a NaN or an infinity (``sing info``)."""
    path = Path(path)
    if not path.exists():
        raise SingError("no such model file", path)
    if path.is_dir():
        raise SingError("is a folder, not a model file", path)
    if not path.is_file():
        raise SingError("not a regular file (a model file is needed)", path)
    header, size = _read_header(path)
    checked = validate_metadata(header.get("__metadata__"), header, path, KINDS)
    if check_values:
        check_tensor_values(_read_tensors(path), path)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    dtypes = sorted({v["dtype"] for v in tensors.values()})
    return ModelInfo(
        path=path,
        kind=checked.kind,
        config=checked.config,
        vocabulary=checked.vocabulary,
        recipe=checked.recipe,
        training_data=checked.training_data,
        format_version=checked.format_version,
        num_parameters=sum(_numel(v) for v in tensors.values()),
        size_bytes=size,
        dtype="/".join(dtypes),
    )


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of the file, on the CPU, as stored."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, RuntimeError) as err:
        raise SingError(f"corrupt model file ({err})", path) from None


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
    state = _read_tensors(info.path)
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
