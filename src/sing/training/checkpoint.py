"""Crash-safe training checkpoints: plain types only, written atomically.

A checkpoint is a dict of plain Python types and tensors (model and optimizer state dicts,
stage, epoch, position inside the epoch, the epoch's sampler order, every RNG state and the
metrics so far). It is written through :func:`sing.utils.atomic.atomic_write` (temp file,
fsync, rename), so a crash or a full disk while writing leaves the previous checkpoint as it
was, and it is read back with ``torch.load(weights_only=True)``: loading one never runs code.

The file is one header line ``sing-checkpoint sha256=<64 hex digits>\n`` followed by the
``torch.save`` bytes; the SHA-256 is checked before anything is unpickled, so a file with
flipped, missing or extra bytes is refused with one line instead of resuming from damaged
weights. Files without the header (older sings) are read without that check.
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sing.errors import SingError, describe_os_error
from sing.utils.atomic import atomic_write

logger = logging.getLogger(__name__)

#: Version of the checkpoint layout; bumped when the layout changes.
CHECKPOINT_FORMAT = 1
#: First bytes of a checkpoint file, followed by the hex SHA-256 of the rest and a newline.
MAGIC = b"sing-checkpoint sha256="
_HEADER_SIZE = len(MAGIC) + 64 + 1
#: Never repeat PyTorch's advice to retry an unsafe file with weights_only=False.
_DAMAGED = ("damaged or not a sing checkpoint ({why}); delete it to start the run over, or "
            "train into another --out folder")


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
    digest = hashlib.sha256(buffer.getbuffer()).hexdigest().encode("ascii")
    with atomic_write(path, "wb") as f:
        f.write(MAGIC + digest + b"\n")
        f.write(buffer.getbuffer())


def _read_payload(path: Path) -> bytes:
    """The ``torch.save`` bytes of a checkpoint file, its checksum verified."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SingError("no checkpoint here (nothing to resume)", path) from None
    except OSError as err:
        raise SingError(describe_os_error(err, path).split(": ", 1)[-1], path) from None
    if not data.startswith(MAGIC):
        if data.startswith(b"PK"):  # a zip: a checkpoint of an older sing, without checksum
            logger.warning(f"{path}: no checksum (written by an older sing); not verified")
            return data
        raise SingError(_DAMAGED.format(why="no sing checkpoint header"), path)
    header, payload = data[:_HEADER_SIZE], data[_HEADER_SIZE:]
    if len(header) < _HEADER_SIZE or header[-1:] != b"\n":
        raise SingError(_DAMAGED.format(why="truncated header"), path)
    if hashlib.sha256(payload).hexdigest().encode("ascii") != header[len(MAGIC):-1]:
        raise SingError(
            f"damaged checkpoint: its checksum does not match its content ({len(data)} bytes: "
            "truncated, or bytes changed on disk); delete it to start the run over, or put "
            "back a good copy", path)
    return payload


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint onto the CPU: checksum first, then ``torch.load(weights_only=True)``.

    Raises :class:`SingError` (one line naming the file) if it is missing, damaged, not a
    checkpoint, of another format version, or holds anything a checkpoint never holds (what it
    holds is checked while it is restored: :func:`damaged_checkpoint`).
    """
    path = Path(path)
    payload = _read_payload(path)
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure to unpickle means a bad file
        # (PyTorch's own message suggests weights_only=False, i.e. running the file's code)
        raise SingError(_DAMAGED.format(why="it cannot be read safely"), path) from None
    if not isinstance(state, dict) or "format" not in state:
        raise SingError(_DAMAGED.format(why="not a checkpoint dictionary"), path)
    if state["format"] != CHECKPOINT_FORMAT:
        raise SingError(
            f"checkpoint format {state['format']!r} is not the supported {CHECKPOINT_FORMAT}",
            path)
    return state


def damaged_checkpoint(path: str | Path, err: BaseException) -> SingError:
    """The one-line error for a checkpoint whose content does not fit this run (a key, a type
    or a tensor shape is wrong) although it loaded."""
    return SingError(_DAMAGED.format(why=f"{type(err).__name__} while restoring it"), path)


def signature_differences(saved: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """What differs between a checkpoint's signature and this run's, one short phrase each:
    the options by name (``lr=0.0003 (now 0.001)``), a changed data set or split in words, and
    the model config key by key (only when no option explains it). Keys the checkpoint does not
    record (written by an older sing) are not compared."""
    import json

    def differs(key: str) -> bool:
        return key in saved and saved.get(key) != wanted.get(key)

    out = []
    for key in sorted(set(saved) | set(wanted)):
        if key in ("model", "data", "train_notes") or not differs(key):
            continue
        out.append(f"{key}={saved.get(key)!r} (now {wanted.get(key)!r})")
    if differs("data") or differs("train_notes"):
        counts = (f"{saved.get('train_notes')} train notes, now {wanted.get('train_notes')}"
                  if differs("train_notes") else "other train notes")
        out.append(f"the data set or its split differs ({counts})")
    if differs("model") and not out:
        try:
            old, new = json.loads(saved["model"]), json.loads(wanted["model"])
            out += [f"model {k}={old.get(k)!r} (now {new.get(k)!r})"
                    for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        except (TypeError, ValueError, AttributeError):
            out.append("the model config differs")
    return out


def check_signature(path: str | Path, saved: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Raise :class:`SingError` if a checkpoint was made with another training configuration
    or other data, naming what differs (see :func:`signature_differences`)."""
    if not isinstance(saved, dict):
        raise SingError("damaged or not a sing checkpoint (no training signature)", path)
    diffs = signature_differences(saved, wanted)
    if diffs:
        shown = ", ".join(diffs[:4]) + (f", and {len(diffs) - 4} more" if len(diffs) > 4 else "")
        raise SingError(
            f"checkpoint comes from another training configuration: {shown}; "
            "use the same options and data, or another --out folder", path
        )
