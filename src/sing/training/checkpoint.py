"""Crash-safe training checkpoints: plain types only, written atomically.

A checkpoint is a dict of plain Python types and tensors (model and optimizer state dicts,
stage, epoch, position inside the epoch, the epoch's sampler order, every RNG state and the
metrics so far). It is written through :func:`sing.utils.atomic.atomic_write` (temp file,
fsync, rename), so a crash or a full disk while writing leaves the previous checkpoint as it
was, and it is read back with ``torch.load(weights_only=True)``: loading one never runs code.
"""

from __future__ import annotations

import io
import logging
import pickle
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sing.errors import SingError
from sing.utils.atomic import atomic_write

logger = logging.getLogger(__name__)

#: Version of the checkpoint layout; bumped when the layout changes.
CHECKPOINT_FORMAT = 1


def capture_rng_state() -> dict[str, Any]:
    """Every RNG state of this process (torch CPU, every CUDA device, NumPy, Python)."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(np_state[0]),
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": random.getstate(),
        "cuda": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back the RNG states saved by :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    npy = state["numpy"]
    np.random.set_state((npy["kind"], npy["keys"].numpy().astype(np.uint32), npy["pos"],
                         npy["has_gauss"], npy["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temp file, fsync, rename).

    Raises :class:`SingError` (one line, e.g. a full disk); the previous checkpoint is kept.
    """
    state = {"format": CHECKPOINT_FORMAT, **state}
    # serialise in memory first: torch's zip writer turns a write error (ENOSPC) into a
    # RuntimeError without errno, while a plain file write reports it as an OSError.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_write(path, "wb") as f:
        f.write(buffer.getbuffer())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)`` onto the CPU.

    Raises :class:`SingError` naming the file if it is truncated, not a checkpoint, or of
    another format version.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise SingError("no checkpoint here (nothing to resume)", path) from None
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SingError(f"not a readable sing checkpoint ({first})", path) from None
    if not isinstance(state, dict) or "format" not in state:
        raise SingError("not a sing checkpoint", path)
    if state["format"] != CHECKPOINT_FORMAT:
        raise SingError(
            f"checkpoint format {state['format']} is not the supported {CHECKPOINT_FORMAT}", path
        )
    return state


def check_signature(path: str | Path, saved: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Raise :class:`SingError` if a checkpoint was made with another training configuration."""
    diffs = [
        f"{key}={saved.get(key)!r} (now {wanted.get(key)!r})"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key) != wanted.get(key)
    ]
    if diffs:
        shown = ", ".join(diffs[:4]) + (", ..." if len(diffs) > 4 else "")
        raise SingError(
            f"checkpoint comes from another training configuration: {shown}; "
            "use the same options, or another --out folder", path
        )
