"""Pitch accuracy: does a generated note sound at the pitch it was asked for?

The fundamental frequency of a note is estimated with YIN (``librosa.yin``, ~6 ms a note) on
the held part of the note (the key is held for 3 s), as the median over the frames loud enough
to carry a tone. A note is *right* when that estimate lies within 50 cents of the requested
MIDI pitch; *right ignoring octave* when it does so after folding whole octaves away (YIN and
real instruments both produce octave errors). The same measurement on the ground truth gives
the ceiling a model can reach.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from sing.dsp.pitch import midi_to_hz

logger = logging.getLogger(__name__)

#: Search range of the fundamental (Hz): C1 (MIDI 24) to C8 (MIDI 108), wide enough for NSynth.
FMIN_HZ = 32.70
FMAX_HZ = 4186.0
#: Part of the note that is analysed (seconds): after the attack, before the release (NSynth
#: holds the key for 3 s of 4; shorter notes are analysed up to 70% of their length).
ANALYSIS_START_S = 0.1
ANALYSIS_END_S = 2.5
ANALYSIS_END_FRACTION = 0.7
#: Frames quieter than this many dB below the loudest frame are ignored.
SILENCE_DB = 40.0
#: Tolerance of "at the right pitch" (cents).
TOLERANCE_CENTS = 50.0


def cents_error(f0_hz: float, pitch: float) -> float:
    """Signed distance in cents from ``f0_hz`` to MIDI ``pitch`` (nan if ``f0_hz`` is not > 0)."""
    if not (f0_hz > 0) or not math.isfinite(f0_hz):
        return float("nan")
    return 1200.0 * math.log2(f0_hz / midi_to_hz(pitch))


def fold_octaves(cents: float) -> float:
    """``cents`` with whole octaves removed, in [-600, 600)."""
    if not math.isfinite(cents):
        return cents
    return (cents + 600.0) % 1200.0 - 600.0


def estimate_f0(wav: np.ndarray, sample_rate: int) -> float:
    """Fundamental frequency (Hz) of a note ``wav: ndarray[T]``, or nan when it is silent.

    YIN over the held part of the note (``ANALYSIS_START_S`` to ``ANALYSIS_END_S`` or
    ``ANALYSIS_END_FRACTION`` of the note, whichever comes first); median of
    the per-frame estimates over frames within ``SILENCE_DB`` of the loudest one.
    """
    import librosa

    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    start = int(ANALYSIS_START_S * sample_rate)
    end = min(int(ANALYSIS_END_FRACTION * len(x)), int(ANALYSIS_END_S * sample_rate))
    if end - start < sample_rate // 10:
        start, end = 0, len(x)
    x = x[start:end]
    frame_length = 2048 if sample_rate <= 24000 else 4096
    hop = frame_length // 4
    if len(x) < frame_length or not np.any(x):
        return float("nan")
    fmax = min(FMAX_HZ, sample_rate / 2 * 0.95)
    f0 = librosa.yin(
        x, fmin=FMIN_HZ, fmax=fmax, sr=sample_rate, frame_length=frame_length,
        hop_length=hop, center=False,
    )
    frames = librosa.util.frame(x, frame_length=frame_length, hop_length=hop)
    rms = np.sqrt(np.mean(frames**2, axis=0))
    n = min(len(rms), len(f0))
    rms, f0 = rms[:n], f0[:n]
    peak = rms.max()
    if peak <= 1e-6:
        return float("nan")
    loud = rms >= peak * 10.0 ** (-SILENCE_DB / 20.0)
    return float(np.median(f0[loud]))


@dataclass(frozen=True)
class PitchResult:
    """Pitch measurement of one note against its requested MIDI pitch."""

    f0_hz: float
    cents: float

    @property
    def correct(self) -> bool:
        """Within :data:`TOLERANCE_CENTS` of the requested pitch."""
        return math.isfinite(self.cents) and abs(self.cents) <= TOLERANCE_CENTS

    @property
    def correct_ignoring_octave(self) -> bool:
        """Within :data:`TOLERANCE_CENTS` of the requested pitch class (octave errors forgiven)."""
        return math.isfinite(self.cents) and abs(fold_octaves(self.cents)) <= TOLERANCE_CENTS


def measure_pitch(wav: np.ndarray, sample_rate: int, pitch: int) -> PitchResult:
    """Estimate the fundamental of ``wav: ndarray[T]`` and compare it with MIDI ``pitch``."""
    f0 = estimate_f0(wav, sample_rate)
    return PitchResult(f0_hz=f0, cents=cents_error(f0, pitch))
