"""The *resample* reference: what a sampler does with a pitch it has no recording of.

For a requested (instrument, pitch, velocity), take the training note of the same instrument
and velocity at the nearest pitch and play it faster or slower by the ratio of the two
fundamentals, ``2 ** ((pitch - source_pitch) / 12)``. The result is cut or zero-padded to the
note length. A model that cannot beat this baseline has learnt nothing a sampler does not do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


def pitch_shift_by_resampling(wav: np.ndarray, semitones: float) -> np.ndarray:
    """Play ``wav: ndarray[T]`` faster by ``2 ** (semitones / 12)`` (higher and shorter).

    Returns ``ndarray[T]`` (float32): the resampled signal cut or zero-padded to ``T``. Uses a
    band-limited resampler (soxr, high quality), so shifting up does not alias.
    """
    import soxr

    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    length = len(x)
    if semitones == 0:
        return x.astype(np.float32)
    ratio = 2.0 ** (semitones / 12.0)
    # Treat x as sampled at sr * ratio and bring it back to sr: it lasts 1 / ratio as long.
    y = soxr.resample(x, ratio * 1000.0, 1000.0, quality="HQ")
    out = np.zeros(length, dtype=np.float32)
    n = min(length, len(y))
    out[:n] = y[:n]
    return out


@dataclass(frozen=True)
class SourceNote:
    """A training note a sampler can play: its index in the dataset and its pitch."""

    index: int
    pitch: int


class ResampleReference:
    """Index of the training notes by (instrument, velocity), to find the nearest pitch.

    ``notes`` yields ``(dataset_index, instrument, pitch, velocity)`` of the training notes.
    """

    def __init__(self, notes: Iterable[tuple[int, int, int, int]]) -> None:
        self._by_key: dict[tuple[int, int], list[SourceNote]] = {}
        for index, instrument, pitch, velocity in notes:
            self._by_key.setdefault((instrument, velocity), []).append(SourceNote(index, pitch))
        for sources in self._by_key.values():
            sources.sort(key=lambda s: s.pitch)

    def source(self, instrument: int, pitch: int, velocity: int) -> SourceNote | None:
        """The training note of the same instrument and velocity nearest in pitch (ties: the
        lower one, so the sampler shifts up), or None when that instrument has no such note."""
        sources = self._by_key.get((instrument, velocity))
        if not sources:
            return None
        return min(sources, key=lambda s: (abs(s.pitch - pitch), s.pitch))
