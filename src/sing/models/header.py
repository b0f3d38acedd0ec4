"""Reading a model file without torch: its header, checked metadata and tensors.

:func:`read_info` parses the safetensors header by hand and validates every field
(:func:`sing.models.validation.validate_metadata`) before anything is read or sized from it;
:func:`read_tensors` then reads the weights as torch tensors and :func:`read_arrays` as NumPy
arrays (float16 / float32 files; :mod:`sing.models.numpy_sing` runs on those without ever
importing torch). :mod:`sing.models.io` builds the torch modules from them and writes files.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError, describe_os_error
from sing.models.config import SingConfig
from sing.models.validation import FORMAT_VERSION, check_tensor_values, validate_metadata

if TYPE_CHECKING:
    import numpy as np
    import torch

_MAX_HEADER = 100 * 1024 * 1024
_DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
                "I8": 1, "U8": 1, "BOOL": 1}
#: The stored dtypes NumPy reads (it has no bfloat16).
NUMPY_DTYPES = ("F32", "F16")


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

    @property
    def numpy_readable(self) -> bool:
        """Whether every tensor is stored as float32 or float16 (what :func:`read_arrays`
        reads; a bfloat16 file needs torch)."""
        return all(d in NUMPY_DTYPES for d in self.dtype.split("/"))


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
    checked = validate_metadata(header.get("__metadata__"), header, path)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    dtypes = sorted({v["dtype"] for v in tensors.values()})
    info = ModelInfo(
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
    if check_values:
        check_tensor_values(read_arrays(path) if info.numpy_readable else read_tensors(path),
                            path)
    return info


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    """Every tensor of the file, on the CPU, as stored (torch)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, RuntimeError) as err:
        raise SingError(f"corrupt model file ({err})", Path(path)) from None


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a float32 / float16 file as a float32 NumPy array (no torch)."""
    import numpy as np
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return {k: v.astype(np.float32, copy=False) for k, v in load_file(str(path)).items()}
    except (SafetensorError, OSError, RuntimeError, TypeError, ValueError) as err:
        raise SingError(f"corrupt model file ({err})", Path(path)) from None
