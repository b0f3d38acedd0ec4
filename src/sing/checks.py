"""Checks of the library API's arguments, shared with the command line (one message each).

The CLI checks its options while parsing (:mod:`sing.utils.numbers`); the API takes Python
values, which can be of any type. These functions turn each bad value into one
:class:`~sing.errors.SingError` with the same words as the CLI, before any work.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sing.errors import SingError

if TYPE_CHECKING:  # imported where a dtype is made: the NumPy generation path needs no torch
    import torch

#: Output sample rates (Hz) ``sing render --sample-rate`` and ``render_midi`` accept.
SAMPLE_RATES = (1000, 384_000)
#: Compute dtypes of generation, by name (int8: the CPU fast path's quantised GEMMs and LSTM);
#: ``DTYPES`` are the torch dtypes.
DTYPE_NAMES = ("float32", "bfloat16", "float16", "int8")
#: The ones ``--dtype`` offers (``sing generate``, ``sing render``, ``sing export``).
CLI_DTYPES = ("float32", "bfloat16", "int8")
#: The dtypes a model's weights can be cast to (``load_model``), by name; ``MODEL_DTYPES``
#: are the torch dtypes.
MODEL_DTYPE_NAMES = ("float32", "bfloat16", "float16")


def __getattr__(name: str) -> Any:  # DTYPES / MODEL_DTYPES: torch dtypes, torch imported then
    if name in ("DTYPES", "MODEL_DTYPES"):
        import torch

        names = DTYPE_NAMES if name == "DTYPES" else MODEL_DTYPE_NAMES
        return tuple(getattr(torch, n) for n in names)
    raise AttributeError(f"module 'sing.checks' has no attribute {name!r}")


def whole_number(value: Any, what: str, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``: an integer (not a bool) or an integral float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SingError(f"{what} must be a whole number from {low} to {high}, not {value!r:.40}")
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif float(value).is_integer():
        number = int(value)
    else:
        raise SingError(f"{what} must be a whole number from {low} to {high}, not {value!r:.40}")
    if not low <= number <= high:
        raise SingError(f"{what} must be a whole number from {low} to {high}, not {number}")
    return number


def sample_rate(value: Any) -> int | None:
    """An output sample rate (None: the model's), as ``--sample-rate`` takes it."""
    if value is None:
        return None
    return whole_number(value, "sample_rate", *SAMPLE_RATES)


def compute_dtype(value: Any) -> torch.dtype:
    """A generation dtype: float32, bfloat16, float16 or int8 (a torch.dtype or its name)."""
    import torch

    if isinstance(value, str) and value in DTYPE_NAMES:
        value = getattr(torch, value)
    if not isinstance(value, torch.dtype) or str(value).removeprefix("torch.") not in DTYPE_NAMES:
        raise SingError(f"dtype must be float32, bfloat16, float16 or int8, not {value!r:.40}")
    return value


def model_dtype(value: Any) -> torch.dtype:
    """A dtype for a model's weights: float32, bfloat16 or float16 (int8 is a generation
    dtype: quantised from the float weights when the fast path is built)."""
    value = compute_dtype(value)
    if str(value).removeprefix("torch.") not in MODEL_DTYPE_NAMES:
        raise SingError("a model's weights load as float32, bfloat16 or float16; int8 is a "
                        "generation dtype (generate(..., dtype=torch.int8))")
    return value


def instrument_spec(value: Any) -> Any:
    """An instrument: a name, an NSynth id (an int, not a bool) or a blend mapping."""
    if isinstance(value, bool) or not isinstance(value, str | numbers.Integral | Mapping):
        raise SingError("an instrument is a name, an NSynth id or a blend "
                        f"{{name: weight, ...}}, not {value!r:.40}")
    return int(value) if isinstance(value, numbers.Integral) else value


def program_map(value: Any) -> dict[int, Any] | None:
    """``{GM program 0-127: instrument}``, as ``--program-map`` takes it."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SingError(f"program_map must be a mapping GM program -> instrument, not "
                        f"{type(value).__name__}")
    return {whole_number(k, "program_map's GM program", 0, 127): instrument_spec(v)
            for k, v in value.items()}
