"""A generated note fitted to a MIDI note's length: cut or sustained, then released.

A generated note (``T`` samples) was learned from notes whose key was held ``hold`` samples and
then released. A MIDI note held ``d`` samples becomes:

* ``d < hold``: the generated note up to ``d``, cross-faded into the note's own release (from
  ``hold`` on);
* ``d >= hold``: the held part extended by looping its last stretch (a seamless loop: its end is
  cross-faded into what precedes its start), then the release.

Each cross-fade joins the two sides where they line up best: the release (or the loop) is read
from the offset, within one period of the note's pitch of its nominal place, whose waveform
correlates best with what it replaces, so a periodic sound does not cancel itself halfway
through the fade. The release is scaled to the level the note has when it is let go (a piano
let go early is still loud), so the level does not jump. The result starts with a 2 ms fade-in
and ends with a short fade-out: no click anywhere.
"""

from __future__ import annotations

import math

import numpy as np

from sing.dsp.pitch import midi_to_hz

#: Cross-fade into the release and around the loop, seconds.
RELEASE_FADE = 0.02
#: Length of the sustain loop, seconds (at most half of the hold).
LOOP_SECONDS = 0.25
_FADE_IN = 0.002
_FADE_OUT = 0.01
_MAX_RELEASE_GAIN = 8.0


def _best_offset(reference: np.ndarray, signal: np.ndarray, start: int, search: int) -> int:
    """The ``s`` in ``[start - search, start]`` (clipped to the signal) where
    ``signal[s : s + len(reference)]`` correlates best with ``reference``."""
    n = len(reference)
    lo = max(0, start - search)
    hi = min(start, len(signal) - n)
    if hi <= lo or n == 0:
        return max(0, min(start, len(signal) - n))
    part = signal[lo : hi + n].astype(np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(part, n)
    energy = np.concatenate([[0.0], np.cumsum(part * part)])
    norms = np.sqrt(energy[n:] - energy[:-n]).clip(min=1e-12)
    scores = (windows @ reference.astype(np.float64)) / norms  # normalised correlation
    return lo + int(np.argmax(scores))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def _fade(n: int) -> np.ndarray:
    """A raised-cosine ramp from 0 to 1 over ``n`` samples, float32[n]."""
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


def loop_start(note: np.ndarray, hold: int, fade: int, loop: int, period: int) -> int | None:
    """Where the seamless sustain loop of ``note`` starts (it ends at ``hold``), or None when
    the hold is too short to loop.

    The loop is the stretch ``[s, hold)``, about ``loop`` samples; ``s`` is chosen within one
    ``period`` so that what precedes it (``note[s - fade : s]``) resembles the end of the hold
    (``note[hold - fade : hold]``), into which the loop's end is cross-faded
    (:func:`loop_body`).
    """
    loop = max(min(loop, hold - 2 * fade), fade + 1)
    if hold - loop < fade or loop <= fade:
        return None
    return _best_offset(note[hold - fade : hold], note[:hold], hold - loop - fade, period) + fade


def loop_body(note: np.ndarray, start: int, hold: int, fade: int) -> np.ndarray:
    """The loop ``note[start:hold]`` with its last ``fade`` samples cross-faded into
    ``note[start - fade : start]``: played after itself, or after ``note[:start]``, it joins
    without a click (float32[hold - start])."""
    body = note[start:hold].copy()
    ramp = _fade(fade)
    body[-fade:] = body[-fade:] * (1 - ramp) + note[start - fade : start] * ramp
    return body


def sustain(note: np.ndarray, length: int, hold: int, fade: int, loop: int,
            period: int) -> np.ndarray:
    """The held part of ``note`` extended to ``length`` samples (float32[length]).

    ``note[:hold]`` itself when ``length <= hold``; otherwise the stretch ``[s, hold)``
    (:func:`loop_start`) is repeated as a seamless loop (:func:`loop_body`) after ``note[:s]``.
    """
    if length <= hold:
        return note[:length].copy()
    s = loop_start(note, hold, fade, loop, period)
    if s is None:  # too short a hold to loop: freeze the last sample
        out = np.empty(length, dtype=np.float32)
        out[:hold] = note[:hold]
        out[hold:] = note[hold - 1] if hold > 0 else 0.0
        return out
    body = loop_body(note, s, hold, fade)
    reps = math.ceil((length - s) / len(body))
    return np.concatenate([note[:s], np.tile(body, reps)])[:length].astype(np.float32)


def fade_and_period(sample_rate: int, pitch: int | None) -> tuple[int, int]:
    """(cross-fade length, alignment search span) in samples, as :func:`fit_note` uses them:
    ``RELEASE_FADE`` and one period of ``pitch`` (the fade if None), within [2, 4 fades]."""
    fade = max(1, int(RELEASE_FADE * sample_rate))
    period = int(round(sample_rate / midi_to_hz(pitch))) if pitch is not None else fade
    return fade, max(2, min(period, fade * 4))


def sustain_loop(note: np.ndarray, hold: int, sample_rate: int,
                 pitch: int | None = None) -> tuple[int, int] | None:
    """The seamless loop ``(start, end)`` (samples, end excluded: ``end`` is the hold) that
    :func:`fit_note` repeats to sustain ``note`` past its hold, or None when the hold is too
    short to loop (or the note has no release).

    ``fit_note(note, end, hold, ...)`` is then a sample whose ``[start, end)`` can be looped
    by a sampler: the loop's end leads back into its start without a click, and what follows
    ``end`` (the note's own release) follows the loop's end as well.
    """
    note = np.asarray(note, dtype=np.float32)
    hold = int(min(max(hold, 1), len(note)))
    if hold >= len(note):
        return None
    fade, period = fade_and_period(sample_rate, pitch)
    start = loop_start(note, hold, fade, int(LOOP_SECONDS * sample_rate), period)
    return None if start is None else (start, hold)


def fit_note(note: np.ndarray, duration: int, hold: int, sample_rate: int,
             pitch: int | None = None) -> np.ndarray:
    """A generated note played for ``duration`` samples, then released.

    Args:
        note: float32[T], the generated note (key held ``hold`` samples, then released).
        duration: samples from note-on to note-off (>= 0).
        hold: samples the training notes' key was held (``T`` if they had no release).
        pitch: MIDI pitch, to search the cross-fade alignment over one period (20 ms if None).
    Returns:
        float32[duration + T - r]: the played note with its release (r: where the release is
        read, within one period of ``hold``).
    """
    note = np.asarray(note, dtype=np.float32)
    length = len(note)
    hold = int(min(max(hold, 1), length))
    duration = max(int(duration), 0)
    fade, period = fade_and_period(sample_rate, pitch)
    played = sustain(note, duration + fade, hold, fade, int(LOOP_SECONDS * sample_rate), period)
    if hold >= length:  # no release in the training notes: fade out at note-off
        out = played[: duration + fade].copy()
        out[duration:] *= 1 - _fade(len(out) - duration)
        return _edges(out, sample_rate)
    # the release, read from r near hold where it lines up with what is played at note-off
    ref = played[duration : duration + fade]
    r = _best_offset(ref, note[: length], hold, period) if len(ref) == fade else hold
    release = note[r:].copy()
    level = _rms(played[max(0, duration - fade) : duration + fade])
    release_level = _rms(note[max(0, r - fade) : r + fade])
    gain = min(level / release_level, _MAX_RELEASE_GAIN) if release_level > 1e-8 else 1.0
    release *= gain
    n = min(fade, len(release))
    ramp = _fade(n)
    out = np.concatenate([played[:duration], release])
    out[duration : duration + n] = played[duration : duration + n] * (1 - ramp) + release[:n] * ramp
    return _edges(out, sample_rate)


def samples_read(durations: list[int], hold: int, length: int,
                 sample_rate: int) -> list[tuple[int, int]]:
    """The ranges ``[a, b)`` of a generated note that :func:`fit_note` reads for these
    durations (samples): the whole note if one of them is sustained, else the start up to the
    longest note-off plus the release around ``hold`` (with the alignment search's margin).
    A generator may leave the other samples uncomputed."""
    fade = max(1, int(RELEASE_FADE * sample_rate))
    hold = int(min(max(hold, 1), length))
    longest = max(durations) + 2 * fade
    release = max(0, hold - 6 * fade)  # period search (<= 4 fades) + level window + fade
    if hold >= length or longest >= release:
        return [(0, length)]
    return [(0, longest), (release, length)]


def _edges(out: np.ndarray, sample_rate: int) -> np.ndarray:
    """2 ms fade-in, 10 ms fade-out (in place); returns ``out``."""
    n_in = min(len(out), max(1, int(_FADE_IN * sample_rate)))
    out[:n_in] *= _fade(n_in)
    n_out = min(len(out), max(1, int(_FADE_OUT * sample_rate)))
    out[len(out) - n_out :] *= _fade(n_out)[::-1]
    return out
