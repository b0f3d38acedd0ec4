"""The int8 plan, remembered: :func:`plan_int8` once per model and CPU, not once per process.

Measuring a plan (:mod:`sing.models.int8_plan`) generates the calibration notes in float32 and
in int8: ~0.6 CPU-s for the shipped model, ~2.5 CPU-s for a paper-sized one, paid by every
``sing generate --dtype int8`` and every web-app start. The plan depends only on the weights,
the calibration settings and the arithmetic of the CPU's kernels, so :func:`cached_plan_int8`
keeps it in a small JSON file named after a SHA-256 of all of them:

* the model's config, vocabulary pitch range and every tensor of its state (names, shapes,
  dtypes and bytes, each tensor hashed on its own, on every core: ~0.07 s for a paper-sized
  model on two cores, whose plan costs thirty times that);
* the budget, the calibration notes and steps, the file format;
* torch's version, the CPU capability ATen dispatches to, and the environment variables that
  hold oneDNN, fbgemm, MKL and ATen to an instruction set.

Any change to any of them is another file: a stale plan is never used. A file that does not
parse or holds values a plan cannot have is ignored (and replaced). The cache lives in
``$SING_CACHE_DIR``, else ``$XDG_CACHE_HOME/sing``, else ``~/.cache/sing``; an empty
``SING_CACHE_DIR`` turns it off, and a cache that cannot be written is skipped (logged at
debug level): planning never fails because of it. Writing a plan removes the temporaries
that writers killed mid-write left in the folder (older than :data:`STALE_TEMPORARY_S`; a
plan is written in milliseconds, so a younger one may be another process's write).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from sing.errors import SingError
from sing.models.fast import FastSING, int8_part_names
from sing.models.int8_plan import (
    CALIBRATION_NOTES,
    CALIBRATION_STEPS,
    DEFAULT_BUDGET,
    Int8Plan,
    plan_int8,
)
from sing.utils.atomic import atomic_write_text, temporary_target

if TYPE_CHECKING:
    from sing.models.sing import SING

logger = logging.getLogger(__name__)

__all__ = ["cache_dir", "cached_plan_int8", "plan_key"]

#: Bumped whenever what a plan means or how it is measured changes.
PLAN_FORMAT = 1
#: A temporary of a plan file older than this (seconds) was left by a killed writer.
STALE_TEMPORARY_S = 600.0
#: A plan file is a few hundred bytes; anything far larger is not read.
MAX_FILE_BYTES = 64 * 1024
#: The environment variables that choose the kernels' instruction sets (and so the float32
#: reference's rounding the plan was measured against).
ISA_VARIABLES = ("ATEN_CPU_CAPABILITY", "FBGEMM_ENABLE_INSTRUCTIONS", "MKL_ENABLE_INSTRUCTIONS",
                 "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def cache_dir() -> Path | None:
    """Where plans are kept: ``$SING_CACHE_DIR`` (empty: no cache), else
    ``$XDG_CACHE_HOME/sing``, else ``~/.cache/sing``."""
    explicit = os.environ.get("SING_CACHE_DIR")
    if explicit is not None:
        return Path(explicit) if explicit.strip() else None
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "sing"


def plan_key(model: SING, budget: float, notes: int, steps: int) -> str:
    """The SHA-256 (hex) of everything a plan depends on (see the module docstring)."""
    vocabulary = getattr(model, "vocabulary", None)
    facts: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "config": model.config.to_dict(),
        "pitch_range": None if vocabulary is None else [vocabulary.pitch_min,
                                                        vocabulary.pitch_max],
        "budget": budget, "notes": notes, "steps": steps,
        "torch": torch.__version__,
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "isa": {name: os.environ.get(name) for name in ISA_VARIABLES},
    }
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True).encode())
    tensors = [(name, t.detach().to("cpu").contiguous())
               for name, t in sorted(model.state_dict().items())]
    # each tensor's own SHA-256, on as many threads as there are cores (hashlib lets go of
    # the GIL on large buffers: ~0.14 s -> ~0.07 s for a paper-sized model on two cores)
    with ThreadPoolExecutor(max(1, min(len(tensors), os.cpu_count() or 1))) as pool:
        digests = list(pool.map(_tensor_digest, (t for _, t in tensors)))
    for (name, t), tensor_digest in zip(tensors, digests, strict=True):
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}\n".encode())
        digest.update(tensor_digest)
    return digest.hexdigest()


def _tensor_digest(t: torch.Tensor) -> bytes:
    """The SHA-256 of a contiguous CPU tensor's bytes."""
    if not t.numel():
        return hashlib.sha256(b"").digest()
    return hashlib.sha256(memoryview(t.reshape(-1).view(torch.uint8).numpy())).digest()


def _finite(value: Any, lo: float = 0.0) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value) and value >= lo


def _read(path: Path, model: SING, budget: float) -> Int8Plan | None:
    """The plan stored at ``path``, or None if there is none or it is not a valid plan of
    this model (the reason logged at debug level)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            logger.debug("ignoring the int8 plan cache file %s (larger than a plan)", path)
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        logger.debug("ignoring the int8 plan cache file %s (%s)", path, err)
        return None
    names = int8_part_names(model.config)
    parts, error, alone = (data.get(k) if isinstance(data, dict) else None
                           for k in ("parts", "error", "alone"))
    valid = (
        isinstance(data, dict) and data.get("format") == PLAN_FORMAT
        and isinstance(parts, list) and all(isinstance(p, str) and p in names for p in parts)
        and len(set(parts)) == len(parts)
        and _finite(error) and (error <= budget or not parts)
        and isinstance(alone, dict)
        and all(isinstance(k, str) and k in names and _finite(v) for k, v in alone.items())
    )
    if not valid:
        logger.debug("ignoring the int8 plan cache file %s (not a plan of this model)", path)
        return None
    return Int8Plan.of(model, parts, float(error), budget,
                       {k: float(v) for k, v in alone.items()})


def remove_old_temporaries(folder: Path, age: float = STALE_TEMPORARY_S) -> list[Path]:
    """Remove the atomic-write temporaries (``.tmp-<name>.<suffix>``) in ``folder`` last
    modified more than ``age`` seconds ago; returns what was removed (logged at debug)."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if temporary_target(entry.name) is None or not entry.name.startswith(".tmp-"):
            continue
        try:
            if entry.is_file() and not entry.is_symlink() and \
                    now - entry.stat().st_mtime > age:
                entry.unlink()
                removed.append(entry)
                logger.debug("removed %s, left by an interrupted plan write", entry)
        except OSError:
            continue
    return removed


def _write(path: Path, plan: Int8Plan) -> None:
    data = {"format": PLAN_FORMAT, "parts": list(plan.parts), "error": plan.error,
            "alone": plan.alone, "torch": torch.__version__}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_old_temporaries(path.parent)
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    except (OSError, SingError) as err:  # a read-only or full disk: plan again next time
        logger.debug("int8 plan not cached at %s (%s)", path, err)


def cached_plan_int8(
    model: SING,
    *,
    budget: float = DEFAULT_BUDGET,
    notes: int = CALIBRATION_NOTES,
    steps: int = CALIBRATION_STEPS,
    reference: FastSING | None = None,
    directory: Path | None = None,
) -> Int8Plan:
    """:func:`sing.models.int8_plan.plan_int8`, read from the cache when this model was
    planned before on this CPU with these settings, else measured and stored.

    Args:
        model, budget, notes, steps, reference: as for :func:`plan_int8`.
        directory: the cache folder (default :func:`cache_dir`; None there: no cache).
    Returns:
        the :class:`Int8Plan`, with its int8 FastSING ``copy``.
    """
    folder = directory if directory is not None else cache_dir()
    if folder is None:
        return plan_int8(model, budget=budget, notes=notes, steps=steps, reference=reference)
    path = folder / "int8-plans" / f"{plan_key(model, budget, notes, steps)}.json"
    plan = _read(path, model, budget)
    if plan is not None:
        logger.debug("%s (from the cache %s)", plan.describe(), path)
        return plan
    plan = plan_int8(model, budget=budget, notes=notes, steps=steps, reference=reference)
    _write(path, plan)
    return plan
