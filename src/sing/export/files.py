"""``export_bank``: a SING model's instruments planned, generated and written as a SoundFont
(``.sf2`` / ``.sf3``) or an SFZ folder, atomically (no half-written output, whatever fails)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from sing.errors import SingError
from sing.export.bank import DEFAULT_EVERY, FORMATS, BankPlan, Progress, generate_bank, plan_bank
from sing.models.blend import InstrumentSpec

logger = logging.getLogger(__name__)


def output_format(out: str | Path, fmt: str | None = None) -> str:
    """The format to write: ``fmt`` if given, else the suffix of ``out`` (``.sf3``,
    ``.sfz``), else ``sf2``."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise SingError(f"unknown format '{fmt}' ({', '.join(FORMATS)})")
        return fmt
    suffix = Path(out).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "sf2"


def check_output(out: str | Path, fmt: str) -> Path:
    """Refuse, before any work, an output that cannot be written (one :class:`SingError`)."""
    out = Path(out)
    if fmt != "sfz" and out.is_dir():
        raise SingError(f"is a folder; give a .{fmt} file name", out)
    if fmt == "sfz" and out.exists() and not out.is_dir():
        raise SingError("is a file; an SFZ export is a folder", out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise SingError("cannot write: its folder does not exist", out)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SingError("cannot write: permission denied", out)
    return out


def export_bank(
    model: torch.nn.Module,
    out: str | Path,
    *,
    instruments: str | Sequence[InstrumentSpec] | None = None,
    blend: InstrumentSpec | None = None,
    blend_name: str | None = None,
    pitches: tuple[int, int] | str | None = None,
    every: int = DEFAULT_EVERY,
    velocities: Sequence[int] | str | None = None,
    fmt: str | None = None,
    name: str | None = None,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    backend: str = "auto",
    quality: float = 0.6,
    progress: Progress | None = None,
    plan: BankPlan | None = None,
) -> Path:
    """Export ``model`` (``sing.api.load_model``) as a sample-based instrument at ``out``.

    Args:
        instruments: names or ids (list or comma-separated), None / ``"all"``: every one
            (unless only ``blend`` is given). blend: one more preset, an instrument blend
            ``"a:0.7,b:0.3"`` (or mapping), named ``blend_name``.
        pitches: ``(lo, hi)`` or ``"LO-HI"`` (default: the model's range). every: a sample
            serves at most this many keys. velocities: the layers (default: all the model's).
        fmt: ``sf2``, ``sf3`` or ``sfz`` (default: from the suffix of ``out``, else sf2).
        quality: Ogg Vorbis quality of sf3 samples, in [0, 1].
        progress: called with the number of notes just generated.
        plan: a ready :func:`sing.export.bank.plan_bank` (then the options above are unused).
    Returns:
        ``out``: a file (sf2, sf3) or a folder (sfz).
    Raises:
        SingError: a bad option, or an output that cannot be written (nothing is left).
    """
    fmt = output_format(out, fmt)
    out = check_output(out, fmt)
    if not 0.0 <= float(quality) <= 1.0:
        raise SingError(f"quality must be in [0, 1], not {quality}")
    if plan is None:
        plan = plan_bank(model, instruments=instruments, blend=blend, blend_name=blend_name,
                         pitches=pitches, every=every, velocities=velocities, name=name)
    logger.info("%s: %d presets x %d keys x %d velocities = %d samples (%s)", out,
                len(plan.presets), len(plan.keys), len(plan.layers), plan.num_samples, fmt)
    presets = generate_bank(model, plan, batch_size=batch_size, device=device, dtype=dtype,
                            backend=backend, progress=progress)
    if fmt == "sfz":
        from sing.export.sfz import write_sfz

        return write_sfz(out, plan, presets)
    from sing.export.sf2 import write_soundfont

    return write_soundfont(out, plan, presets, vorbis=fmt == "sf3", quality=quality)
