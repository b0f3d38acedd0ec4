"""Pitch accuracy: does a generated note sound at the pitch it was asked for?

Two estimators of the fundamental frequency, each on the held part of the note (the key is
held for 3 s in NSynth) as the median over its frames that carry a tone:

- ``yin``: YIN (``librosa.yin``, ~6 ms a note) over the frames within 40 dB of the loudest;
- ``crepe``: CREPE (``torchcrepe``, the ``tiny`` model whose weights ship in its wheel, 16 kHz,
  at most :data:`CREPE_FRAMES` frames spread over the held part) over the frames within 40 dB
  of the loudest whose periodicity (the network's confidence) is at least
  :data:`CREPE_PERIODICITY`. CREPE's pitch range ends at 2006 Hz (B6): higher notes read wrong
  for every system, the ground truth included.

A note is *right* when the estimate lies within 50 cents of the requested MIDI pitch; *right
ignoring octave* when it does so after folding whole octaves away (both estimators and real
instruments produce octave errors). The same measurement on the ground truth gives the ceiling
a model can reach; every figure names the estimator it comes from.
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
#: The pitch estimators (``--pitch-estimator``): one of them or ``both``.
ESTIMATORS: tuple[str, ...] = ("yin", "crepe")
#: CREPE: model capacity, voiced-frame threshold on the periodicity, frames analysed at most.
CREPE_MODEL = "tiny"
CREPE_PERIODICITY = 0.5
CREPE_FRAMES = 12
CREPE_SAMPLE_RATE = 16000


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


def held_span(length: int, sample_rate: int) -> tuple[int, int]:
    """The held part ``(start, end)`` (samples) of a note of ``length`` samples:
    ``ANALYSIS_START_S`` to ``ANALYSIS_END_S`` or ``ANALYSIS_END_FRACTION`` of the note,
    whichever comes first; the whole note when that leaves less than 0.1 s."""
    start = int(ANALYSIS_START_S * sample_rate)
    end = min(int(ANALYSIS_END_FRACTION * length), int(ANALYSIS_END_S * sample_rate))
    if end - start < sample_rate // 10:
        start, end = 0, length
    return start, end


def estimate_f0(wav: np.ndarray, sample_rate: int) -> float:
    """Fundamental frequency (Hz) of a note ``wav: ndarray[T]``, or nan when it is silent.

    YIN over the held part of the note (:func:`held_span`); median of the per-frame estimates
    over frames within ``SILENCE_DB`` of the loudest one.
    """
    import librosa

    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    start, end = held_span(len(x), sample_rate)
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


def _torchcrepe():
    """``torchcrepe``, imported. It imports ``torchaudio`` only to read files (which we never
    ask it to); where the installed torchaudio cannot load against this torch (a binary built
    for another version), an empty ``torchaudio`` module stands in so that the rest imports."""
    from sing.errors import SingError

    advice = "pip install torchcrepe, or use --pitch-estimator yin"
    try:
        import torchcrepe
    except ModuleNotFoundError as err:
        if err.name != "torchaudio":
            raise SingError(f"the CREPE pitch estimator needs torchcrepe ({err}): "
                            f"{advice}") from None
        return _torchcrepe_without_torchaudio()
    except (ImportError, OSError):  # torchaudio's compiled library does not match this torch
        return _torchcrepe_without_torchaudio()
    return torchcrepe


def _torchcrepe_without_torchaudio():
    """Import torchcrepe with an empty ``torchaudio`` module in place of the unusable one."""
    import sys
    import types

    from sing.errors import SingError

    for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
        del sys.modules[name]
    for name in [m for m in sys.modules if m == "torchcrepe" or m.startswith("torchcrepe.")]:
        del sys.modules[name]
    stand_in = types.ModuleType("torchaudio")

    def load(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("torchaudio is unusable here: read audio with soundfile")

    stand_in.load = load  # type: ignore[attr-defined]
    sys.modules["torchaudio"] = stand_in
    try:
        import torchcrepe
    except (ImportError, OSError) as err:
        raise SingError(f"the CREPE pitch estimator could not load torchcrepe ({err}): "
                        "pip install torchcrepe, or use --pitch-estimator yin") from None
    return torchcrepe


def estimate_f0_crepe(wav: np.ndarray, sample_rate: int, device: str = "cpu",
                      model: str | None = None) -> float:
    """Fundamental frequency (Hz) of a note ``wav: ndarray[T]`` by CREPE, or nan when no frame
    of its held part (:func:`held_span`) is loud (within ``SILENCE_DB`` of the loudest) and
    voiced (periodicity >= :data:`CREPE_PERIODICITY`): the median over those frames.
    ``model``: ``tiny`` or ``full`` (default :data:`CREPE_MODEL`)."""
    import torch

    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    start, end = held_span(len(x), sample_rate)
    x = x[start:end]
    if sample_rate != CREPE_SAMPLE_RATE:
        import soxr

        x = soxr.resample(x, sample_rate, CREPE_SAMPLE_RATE, quality="HQ")
    window = 1024
    if len(x) < window or not np.any(x):
        return float("nan")
    torchcrepe = _torchcrepe()
    hop = max(CREPE_SAMPLE_RATE // 100, -(-(len(x) - window) // (CREPE_FRAMES - 1)))
    audio = torch.from_numpy(x.astype(np.float32)).unsqueeze(0)
    with torch.no_grad():
        f0, periodicity = torchcrepe.predict(
            audio, CREPE_SAMPLE_RATE, hop_length=hop, fmin=FMIN_HZ, fmax=torchcrepe.MAX_FMAX,
            model=model or CREPE_MODEL, decoder=torchcrepe.decode.weighted_argmax,
            return_periodicity=True, batch_size=CREPE_FRAMES, device=device, pad=False)
    f0 = f0.squeeze(0).double().cpu().numpy()
    periodicity = periodicity.squeeze(0).double().cpu().numpy()
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[::hop][: len(f0)]
    rms = np.sqrt(np.mean(frames**2, axis=1))
    n = min(len(rms), len(f0))
    rms, f0, periodicity = rms[:n], f0[:n], periodicity[:n]
    if n == 0 or rms.max() <= 1e-6:
        return float("nan")
    voiced = (rms >= rms.max() * 10.0 ** (-SILENCE_DB / 20.0)) & (periodicity >= CREPE_PERIODICITY)
    if not voiced.any():
        return float("nan")
    return float(np.median(f0[voiced]))


def measure_pitch(wav: np.ndarray, sample_rate: int, pitch: int,
                  estimator: str = "yin", device: str = "cpu",
                  crepe_model: str | None = None) -> PitchResult:
    """Estimate the fundamental of ``wav: ndarray[T]`` with ``estimator`` (``yin`` or
    ``crepe``, whose network is ``crepe_model``) and compare it with MIDI ``pitch``."""
    if estimator == "yin":
        f0 = estimate_f0(wav, sample_rate)
    elif estimator == "crepe":
        f0 = estimate_f0_crepe(wav, sample_rate, device=device, model=crepe_model)
    else:
        raise ValueError(f"unknown pitch estimator {estimator!r} (valid: {', '.join(ESTIMATORS)})")
    return PitchResult(f0_hz=f0, cents=cents_error(f0, pitch))


def parse_estimators(choice: str) -> tuple[str, ...]:
    """``yin`` / ``crepe`` / ``both`` -> the estimators to run."""
    if choice == "both":
        return ESTIMATORS
    if choice in ESTIMATORS:
        return (choice,)
    from sing.errors import SingError

    raise SingError(f"unknown pitch estimator '{choice}' (yin, crepe or both)")
