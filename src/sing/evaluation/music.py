"""How well a rendition of a real piece plays its score: measures for the music benchmark.

Every measure takes 16-bit-style float audio ``ndarray[T]`` at ``sample_rate`` and, where the
score matters, the score's notes (objects with ``start``, ``end`` in seconds, ``pitch`` and
``velocity``: :class:`sing.midi.reader.NoteEvent`).

- :func:`chroma_agreement`: CQT chroma of the audio (``librosa.feature.chroma_cqt``, hop 512,
  A = 440 Hz, no tuning estimate) against the chroma of the score's sounding notes on the same
  frames (one unit per sounding note in its pitch class); the mean cosine over the frames
  where the score sounds. A rendition that plays the right pitch classes, with little else,
  reads near 1.
- :func:`log_mel_distance`: the distance of two renditions' log-mel spectrograms: both
  normalised to an RMS of 1 and zero-padded to one length; for each window of
  :data:`MEL_WINDOWS` (512, 1024, 2048; hop a quarter, 64 mel bands) the mean absolute
  difference of ``ln(eps + mel power)`` with ``eps`` 60 dB below the louder one's loudest
  bin; the mean over the windows. 0 for the same audio at any gain.
- :func:`onset_f1`: notes an automatic transcriber recovers: onsets detected by
  ``librosa.onset.onset_detect`` (backtracked to the start of the energy rise, so that slow
  attacks are not found late) matched one-to-one to the score's onsets (chord notes within
  30 ms merged) within 50 ms (as ``mir_eval.onset``), F1.
- :func:`piece_buzz_db`: the frame-rate buzz (:mod:`sing.dsp.modulation`) over the steady
  stretches of the score (no note starts or ends; 80 ms after an event to 20 ms before the
  next, at least 0.2 s), their mean weighted by length. In a chord, two partials of the
  sounding notes that fall in one STFT bin beat at their difference, which may be near the
  frame rate whatever plays them: the bins where the score's harmonic partials (``h * f0``,
  equal temperament) make such a pair are left out
  (:func:`sing.dsp.modulation.harmonic_clean_bins`), so that what is left reads the
  renderer's own ripple.
- the noise floor of a piece is :func:`sing.dsp.modulation.noise_floor_share` against the
  teacher's rendition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from sing.dsp.modulation import frame_rate_buzz_db

CHROMA_HOP = 512
MEL_WINDOWS: tuple[int, ...] = (512, 1024, 2048)
MEL_BANDS = 64
MEL_FLOOR_DB = 60.0
ONSET_TOLERANCE_S = 0.05
CHORD_MERGE_S = 0.03
#: Steady stretches of a score: after an event, before the next, shortest kept (seconds).
STEADY_AFTER_S = 0.08
STEADY_BEFORE_S = 0.02
STEADY_MIN_S = 0.2


def score_chroma(notes: Iterable[Any], times: np.ndarray) -> np.ndarray:
    """``ndarray[12, F]``: for each time of ``times: ndarray[F]`` (seconds), how many notes of
    each pitch class (C = 0) sound (``start <= t < end``)."""
    times = np.asarray(times, dtype=np.float64)
    chroma = np.zeros((12, len(times)))
    for note in notes:
        on = (times >= note.start) & (times < note.end)
        chroma[int(note.pitch) % 12, on] += 1.0
    return chroma


def audio_chroma(wav: np.ndarray, sample_rate: int, hop: int = CHROMA_HOP) -> np.ndarray:
    """CQT chroma ``ndarray[12, F]`` of ``wav`` (librosa, frames centred on ``i * hop``)."""
    import librosa

    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    return librosa.feature.chroma_cqt(y=x, sr=sample_rate, hop_length=hop, tuning=0.0)


def chroma_agreement(wav: np.ndarray, sample_rate: int, notes: Sequence[Any],
                     hop: int = CHROMA_HOP) -> float:
    """Mean cosine between the audio's CQT chroma and the score's chroma over the frames where
    the score sounds (0 for a silent frame); nan when the score never sounds."""
    audio = audio_chroma(wav, sample_rate, hop)
    times = np.arange(audio.shape[1]) * hop / sample_rate
    score = score_chroma(notes, times)
    sounding = score.sum(axis=0) > 0
    if not sounding.any():
        return float("nan")
    a, s = audio[:, sounding], score[:, sounding]
    norms = np.linalg.norm(a, axis=0) * np.linalg.norm(s, axis=0)
    cos = np.where(norms > 0, (a * s).sum(axis=0) / np.where(norms > 0, norms, 1.0), 0.0)
    return float(cos.mean())


def _rms_normalised(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    rms = math.sqrt(float(np.mean(x**2))) if len(x) else 0.0
    return x / rms if rms > 0 else x


def mel_power(wav: np.ndarray, sample_rate: int, n_fft: int,
              n_mels: int = MEL_BANDS) -> np.ndarray:
    """Mel power spectrogram ``ndarray[n_mels, F]`` (Hann window ``n_fft``, hop ``n_fft // 4``,
    centred, librosa's Slaney mel filters up to Nyquist)."""
    import librosa

    return librosa.feature.melspectrogram(
        y=np.asarray(wav, dtype=np.float64), sr=sample_rate, n_fft=n_fft,
        hop_length=n_fft // 4, n_mels=n_mels, power=2.0)


def log_mel_distance(a: np.ndarray, b: np.ndarray, sample_rate: int,
                     windows: Sequence[int] = MEL_WINDOWS, n_mels: int = MEL_BANDS,
                     floor_db: float = MEL_FLOOR_DB) -> float:
    """Log-mel distance of two renditions (see the module docstring); symmetric, 0 for the
    same audio at any gain; nan if either is silent."""
    x, y = _rms_normalised(a), _rms_normalised(b)
    if not (np.any(x) and np.any(y)):
        return float("nan")
    length = max(len(x), len(y))
    x, y = np.pad(x, (0, length - len(x))), np.pad(y, (0, length - len(y)))
    distances = []
    for n_fft in windows:
        mx, my = mel_power(x, sample_rate, n_fft, n_mels), mel_power(y, sample_rate, n_fft, n_mels)
        eps = max(mx.max(), my.max()) * 10.0 ** (-floor_db / 10.0)
        distances.append(float(np.mean(np.abs(np.log(eps + mx) - np.log(eps + my)))))
    return float(np.mean(distances))


def score_onsets(notes: Iterable[Any], merge: float = CHORD_MERGE_S) -> np.ndarray:
    """The score's onset times (seconds, sorted), notes starting within ``merge`` of the
    previous onset merged into it (a chord is one onset)."""
    onsets: list[float] = []
    for start in sorted(float(n.start) for n in notes):
        if not onsets or start - onsets[-1] > merge:
            onsets.append(start)
    return np.asarray(onsets)


def match_onsets(reference: np.ndarray, estimate: np.ndarray,
                 tolerance: float = ONSET_TOLERANCE_S) -> int:
    """The most one-to-one pairs (reference, estimate) with ``|r - e| <= tolerance``: a greedy
    match in time order, which is maximal for points on a line."""
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    est = np.sort(np.asarray(estimate, dtype=np.float64))
    matches, j = 0, 0
    for r in ref:
        while j < len(est) and est[j] < r - tolerance:
            j += 1
        if j < len(est) and est[j] <= r + tolerance:
            matches += 1
            j += 1
    return matches


def onset_f1(wav: np.ndarray, sample_rate: int, notes: Sequence[Any],
             tolerance: float = ONSET_TOLERANCE_S) -> float:
    """F1 of the onsets ``librosa.onset.onset_detect`` (backtracked) finds in ``wav`` against
    the score's (:func:`score_onsets`), matched within ``tolerance``; nan for a score without
    notes."""
    import librosa

    ref = score_onsets(notes)
    if len(ref) == 0:
        return float("nan")
    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    est = librosa.onset.onset_detect(y=x, sr=sample_rate, hop_length=256, units="time",
                                     backtrack=True)
    if len(est) == 0:
        return 0.0
    return 2.0 * match_onsets(ref, est, tolerance) / (len(ref) + len(est))


def steady_segments(notes: Sequence[Any], after: float = STEADY_AFTER_S,
                    before: float = STEADY_BEFORE_S,
                    shortest: float = STEADY_MIN_S) -> list[tuple[float, float]]:
    """Stretches (start, end) in seconds where some note sounds and none starts or ends,
    ``after`` past the last event and ``before`` the next, at least ``shortest`` long."""
    events = sorted({float(n.start) for n in notes} | {float(n.end) for n in notes})
    out = []
    for lo, hi in zip(events[:-1], events[1:], strict=True):
        start, end = lo + after, hi - before
        if end - start < shortest:
            continue
        middle = 0.5 * (lo + hi)
        if any(n.start <= middle < n.end for n in notes):
            out.append((start, end))
    return out


def piece_buzz_db(wav: np.ndarray, sample_rate: int, notes: Sequence[Any],
                  frame_rate: float) -> float:
    """The frame-rate buzz (dB) of a rendition over the score's steady stretches (in the
    bins :func:`sing.dsp.modulation.harmonic_clean_bins` keeps for the sounding notes), their
    mean weighted by length; nan when the score has no stretch long enough."""
    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    values, weights = [], []
    for start, end in steady_segments(notes):
        lo, hi = int(start * sample_rate), min(int(end * sample_rate), len(x))
        middle = 0.5 * (start + end)
        pitches = sorted({n.pitch for n in notes if n.start <= middle < n.end})
        value = frame_rate_buzz_db(x, sample_rate, frame_rate, lo, hi, pitches=pitches)
        if math.isfinite(value):
            values.append(value)
            weights.append(hi - lo)
    if not values:
        return float("nan")
    return float(np.average(values, weights=weights))
