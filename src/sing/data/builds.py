"""What every ``sing dataset build`` builder shares: levels, ``examples.json``, --force rules.

The SoundFont builder (:mod:`sing.data.soundfont`) and the sample-folder builder
(:mod:`sing.data.samples`) both write NSynth's layout (``examples.json``, ``audio/<note>.wav``)
plus a ``build.json``, in a folder built atomically (:func:`sing.utils.atomic.atomic_directory`),
with one gain per instrument.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from sing.errors import SingError

#: Every instrument's loudest note peaks here after its gain, as a fraction of int16 full scale.
NOTE_PEAK: float = 0.9


def examples_json(examples: dict[str, dict[str, Any]]) -> str:
    """``examples.json`` text: one object, one note per line (sorted by note name)."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(examples.items())]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def check_replaceable(out: Path, overwrite: bool) -> None:
    """Raise :class:`SingError` unless ``out`` may be (re)built: absent or empty, or, with
    ``overwrite`` (``--force``), a data set `sing dataset build` built (``examples.json`` +
    ``build.json``): --force never deletes a folder of anything else."""
    if not out.exists():
        return
    if not out.is_dir():
        raise SingError("exists and is not a folder", out)
    if not any(out.iterdir()):
        return
    if not overwrite:
        raise SingError("already exists; use --force to replace it", out)
    if not ((out / "examples.json").is_file() and (out / "build.json").is_file()):
        raise SingError("is not a data set built by `sing dataset build` (no examples.json and "
                        "build.json): --force replaces only those, or an empty folder; remove it "
                        "yourself or choose another --out", out)


def instrument_gain(notes: Iterable[np.ndarray]) -> tuple[float, float]:
    """``(gain, peak)``: the one gain that brings the loudest of an instrument's notes
    (float, full scale 1) to :data:`NOTE_PEAK` (0 if every note is silent), and that peak."""
    peak = max((float(np.abs(w).max()) for w in notes if w.size), default=0.0)
    return (NOTE_PEAK / peak if peak > 0 else 0.0), peak
