"""Two note-level artefact measures: the frame-rate buzz and the noise floor (NumPy float64).

*Frame-rate buzz.* A decoder that makes one frame of samples every ``stride`` samples can
leave a periodic ripple on every harmonic at its frame rate (``sample_rate / stride``, 62.5 Hz
for stride 256 at 16 kHz). :func:`frame_rate_buzz_db` measures it on a steady stretch of a note
(its held part): a short-time Fourier transform with a 256-sample periodic Hann window and a
hop of 16 samples gives each frequency bin's magnitude track (sampled at ``sample_rate / 16``);
for each *loud* bin (mean power within ``loud_db`` = 30 dB of the loudest bin's) the track's
mean is removed, it is Hann-windowed and its power spectrum taken; the bin's buzz is the power
in a band around the frame rate (the window's main lobe, at least +-2 Hz) over the power in
2-40 Hz (the slow changes any real tone has: tremolo, beating, decay; floored at the power of
a 1% modulation, :data:`SLOW_FLOOR_DB`, as a looped sample can be steadier than an inaudible
ripple), in dB; the buzz band's power is floored the same way at a modulation
:data:`BUZZ_FLOOR_DB` below the mean (below what audio samples carry), so a perfectly steady
track reads :data:`BUZZ_FLOOR_DB` - :data:`SLOW_FLOOR_DB` = -60 dB, not minus infinity. The
stretch's mean (a DC offset, e.g. a decoder's bias) is removed first, and a stretch quieter
than :data:`SILENCE_RMS` after that is silent (nan). The note's buzz
is the mean of that over its loud bins. Real recordings read about -30 dB; a model that pulses
at its frame rate reads higher. Given the sounding pitches, the bins where two harmonics of
the notes (within the window's main lobe) are the frame rate apart are left out: they beat
there whatever renders them (a bass note at 62 Hz, partials of a chord).

*Noise floor.* :func:`noise_floor_share` is the share of a generated note's energy that falls
in the time-frequency bins (n_fft 1024, hop 256, periodic Hann, no centring: the paper's
spectrogram) where the reference recording is more than ``floor_db`` = 60 dB below its loudest
bin: hiss or spray where the recording is silent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

#: STFT of the buzz measure: window and hop (samples).
BUZZ_WINDOW = 256
BUZZ_HOP = 16
#: Loud bins: mean power within this many dB of the loudest bin's.
LOUD_DB = 30.0
#: The reference band of slow magnitude changes (Hz).
SLOW_BAND_HZ = (2.0, 40.0)
#: The slow band's power is floored at that of a sinusoidal modulation this many dB below the
#: track's mean (1%): a looped sample is so steady that 2-40 Hz holds almost nothing, and an
#: inaudible ripple would then read as a loud buzz.
SLOW_FLOOR_DB = -40.0
#: The buzz band's power is floored at that of a sinusoidal modulation this many dB below the
#: track's mean: 16-bit audio cannot carry a finer ripple, and a steady or numerically constant
#: track (a DC offset) would otherwise read thousands of dB below zero.
BUZZ_FLOOR_DB = -100.0
#: A stretch whose RMS (mean removed) is below this is silent: -100 dBFS, under the step of
#: 16-bit PCM (a decoder's constant bias on a silent note is not a tone to measure).
SILENCE_RMS = 1e-5
#: Noise floor: bins of the reference more than this many dB below its loudest bin.
FLOOR_DB = 60.0
NOISE_N_FFT = 1024
NOISE_HOP = 256


def _hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic


def _power_frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 of ``x`` (periodic Hann, no centring): ``ndarray[frames, n_fft // 2 + 1]``."""
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    spec = np.fft.rfft(frames * _hann(n_fft), axis=-1)
    return spec.real**2 + spec.imag**2


def magnitude_tracks(wav: np.ndarray, window: int = BUZZ_WINDOW,
                     hop: int = BUZZ_HOP) -> np.ndarray:
    """|STFT| of ``wav: ndarray[T]``: ``ndarray[frames, window // 2 + 1]`` (float64)."""
    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    if len(x) < window:
        return np.zeros((0, window // 2 + 1))
    return np.sqrt(_power_frames(x, window, hop))


def modulation_ratio_db(track: np.ndarray, rate: float, frequency: float,
                        slow_band: tuple[float, float] = SLOW_BAND_HZ,
                        slow_floor_db: float | None = SLOW_FLOOR_DB,
                        buzz_floor_db: float | None = BUZZ_FLOOR_DB) -> float:
    """Power of ``track: ndarray[L]`` (sampled at ``rate`` Hz) in a band around ``frequency``
    over its power in ``slow_band``, in dB (mean removed, Hann-windowed; the band is the
    window's main lobe, at least +-2 Hz). The slow band's power counts as at least that of a
    sinusoidal modulation of ``slow_floor_db`` relative to the track's mean, the buzz band's
    as at least that of one of ``buzz_floor_db`` (None: no floor). nan when the track is too
    short for the bands or has no power in ``slow_band``."""
    m = np.asarray(track, dtype=np.float64).reshape(-1)
    n = len(m)
    if n < 8 or frequency >= rate / 2:
        return float("nan")
    resolution = rate / n
    half = buzz_band_hz(n, rate)
    if slow_band[1] - slow_band[0] < 2 * resolution or frequency - half <= slow_band[1]:
        return float("nan")
    window = _hann(n)
    power = np.abs(np.fft.rfft((m - m.mean()) * window)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    buzz = power[np.abs(freqs - frequency) <= half].sum()
    slow = power[(freqs >= slow_band[0]) & (freqs <= slow_band[1])].sum()
    def floor(db: float) -> float:  # one-sided power of A cos(wt), windowed: n A^2 sum(w^2) / 4
        depth = abs(m.mean()) * 10.0 ** (db / 20.0)
        return n * depth**2 * float(np.sum(window**2)) / 4.0

    if slow_floor_db is not None:
        slow = max(slow, floor(slow_floor_db))
    if buzz_floor_db is not None:
        buzz = max(buzz, floor(buzz_floor_db))
    if not slow > 0 or not buzz > 0:
        return float("nan")
    return 10.0 * math.log10(buzz / slow)


def buzz_band_hz(length: int, rate: float) -> float:
    """Half-width (Hz) of the band around the frame rate for a track of ``length`` samples at
    ``rate`` Hz: the Hann window's main lobe (2.5 bins of ``rate / length``), at least 2 Hz."""
    return max(2.0, 2.5 * rate / max(length, 1))


#: Extra width (Hz) around the band for partials that are not exactly where the score puts them.
DETUNE_HZ = 3.0


def harmonic_clean_bins(pitches: Iterable[int], sample_rate: int, frame_rate: float,
                        band: float, window: int = BUZZ_WINDOW) -> np.ndarray:
    """``ndarray[window // 2 + 1]`` of bool: the bins of a ``window``-sample Hann STFT where no
    two harmonic partials of ``pitches`` within the window's main lobe (+-2 bins) lie
    ``frame_rate`` +- (``band`` + :data:`DETUNE_HZ`) apart (they would beat near it)."""
    partials = []
    for pitch in pitches:
        f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
        partials += list(f0 * np.arange(1, int(sample_rate / 2 / f0) + 1))
    p = np.sort(np.asarray(partials))
    width = sample_rate / window
    keep = np.ones(window // 2 + 1, dtype=bool)
    for k in range(len(keep)):
        near = p[np.abs(p - k * width) < 2 * width]
        if len(near) > 1:
            gaps = np.abs(near[:, None] - near[None, :])
            keep[k] = not np.any(np.abs(gaps - frame_rate) <= band + DETUNE_HZ)
    return keep


def frame_rate_buzz_db(
    wav: np.ndarray, sample_rate: int, frame_rate: float, start: int = 0,
    end: int | None = None, *, window: int = BUZZ_WINDOW, hop: int = BUZZ_HOP,
    loud_db: float = LOUD_DB, bins: np.ndarray | None = None,
    pitches: Iterable[int] | None = None,
) -> float:
    """Frame-rate buzz (dB) of ``wav[start:end]`` (a steady stretch of a note; see the module
    docstring): the mean over the loud bins of :func:`modulation_ratio_db` at ``frame_rate``
    (e.g. ``sample_rate / stride`` of the decoder). ``bins`` (``ndarray[window // 2 + 1]`` of
    bool) keeps only those bins (loud still means within ``loud_db`` of the loudest of all);
    ``pitches`` (the MIDI pitches sounding) also leaves out the bins where two of their
    harmonics beat near the frame rate (:func:`harmonic_clean_bins`; a note whose f0 is near
    the frame rate, or half of it, then reads nan: its own harmonics beat there). nan when
    the stretch is silent, shorter than the analysis needs (about 0.2 s) or has no loud bin
    left. The stretch's mean (DC offset) is removed first; one quieter than
    :data:`SILENCE_RMS` is silent."""
    x = np.asarray(wav, dtype=np.float64).reshape(-1)[start:end]
    x = x - x.mean() if len(x) else x
    if not len(x) or math.sqrt(float(np.mean(x**2))) < SILENCE_RMS:
        return float("nan")
    mags = magnitude_tracks(x, window, hop)
    rate = sample_rate / hop
    if mags.shape[0] < 8 or not np.any(mags):
        return float("nan")
    mean_power = (mags**2).mean(axis=0)
    loud = mean_power >= mean_power.max() * 10.0 ** (-loud_db / 10.0)
    if bins is not None:
        loud &= np.asarray(bins, dtype=bool)
    if pitches is not None:
        band = buzz_band_hz(mags.shape[0], rate)
        loud &= harmonic_clean_bins(pitches, sample_rate, frame_rate, band, window)
    loud = np.flatnonzero(loud)
    values = [modulation_ratio_db(mags[:, k], rate, frame_rate) for k in loud]
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def noise_floor_share(
    estimate: np.ndarray, reference: np.ndarray, *, n_fft: int = NOISE_N_FFT,
    hop: int = NOISE_HOP, floor_db: float = FLOOR_DB,
) -> float:
    """Share (0-1) of ``estimate``'s STFT energy in the bins where ``reference`` is more than
    ``floor_db`` below its loudest bin (the shorter signal is zero-padded to the longer). nan
    when ``estimate`` is silent or the signals are shorter than ``n_fft``; 0 <= share <= 1."""
    est = np.asarray(estimate, dtype=np.float64).reshape(-1)
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    length = max(len(est), len(ref))
    if length < n_fft:
        return float("nan")
    est = np.pad(est, (0, length - len(est)))
    ref = np.pad(ref, (0, length - len(ref)))
    p_est = _power_frames(est, n_fft, hop)
    p_ref = _power_frames(ref, n_fft, hop)
    total = p_est.sum()
    if not total > 0:
        return float("nan")
    quiet = p_ref < p_ref.max() * 10.0 ** (-floor_db / 10.0)
    return float(p_est[quiet].sum() / total)
