"""Notes cut or sustained to a MIDI length, then released: lengths, no clicks, steady sustain."""

from __future__ import annotations

import numpy as np
import pytest

from sing.midi.envelope import fit_note

RATE, T, HOLD = 16000, 16000, 12000
F0 = 261.63  # MIDI 60


def _note(kind: str = "sine") -> np.ndarray:
    """A 1-s note held 0.75 s, then released (exponential decay, 50 ms)."""
    n = np.arange(T)
    envelope = np.where(n < HOLD, 1.0, np.exp(-(n - HOLD) / 800.0))
    if kind == "sine":
        wave = 0.5 * np.sin(2 * np.pi * F0 * n / RATE)
    else:  # three partials, inharmonic phases
        wave = sum(0.2 / k * np.sin(2 * np.pi * k * F0 * n / RATE + k) for k in (1, 2, 3))
    return (wave * envelope).astype(np.float32)


def _max_slope(note: np.ndarray) -> float:
    """The largest sample-to-sample step of the held part: the note's own steepness."""
    return float(np.abs(np.diff(note[:HOLD])).max())


@pytest.mark.parametrize("kind", ["sine", "partials"])
@pytest.mark.parametrize("duration", [0, 37, 1601, 5000, 11990, 12000, 12500, 40000])
def test_release_has_no_click(kind: str, duration: int):
    note = _note(kind)
    out = fit_note(note, duration, HOLD, RATE, pitch=60)
    # the length: played part + the release (read within one period of the hold)
    period = round(RATE / F0)
    assert duration + (T - HOLD) <= len(out) <= duration + (T - HOLD) + period
    # no sample-to-sample jump beyond the note's own steepness (a click would be ~6x)
    assert np.abs(np.diff(out)).max() <= 1.1 * _max_slope(note)
    assert np.abs(out).max() <= 1.05 * np.abs(note).max()
    # the release decays to silence and the end is faded out
    assert abs(out[-1]) < 1e-3 and np.abs(out[-800:]).max() < 0.05


def test_a_plain_splice_would_click():
    """The bound above can fail: cutting at note-off and jumping to the release clicks."""
    note = _note()
    for cut in (1601, 1616, 1631):  # note-offs a quarter period apart
        naive = np.concatenate([note[:cut], note[HOLD:]])
        ours = fit_note(note, cut, HOLD, RATE, pitch=60)
        assert np.abs(np.diff(ours)).max() <= 1.1 * _max_slope(note)
    assert np.abs(np.diff(naive)).max() > 3 * _max_slope(note)


def test_long_notes_sustain_at_a_steady_level():
    note = _note("partials")
    out = fit_note(note, 48000, HOLD, RATE, pitch=60)  # 3 s, four times the hold
    window = 320
    rms = np.sqrt(np.convolve(out[:48000] ** 2, np.ones(window) / window, mode="valid"))
    held = np.sqrt(np.mean(note[2000:HOLD] ** 2))
    assert rms[200:].min() > 0.9 * held and rms[200:].max() < 1.1 * held
    # after note-off, the release: within 0.2 s it is 20 dB down
    assert np.abs(out[48000 + 3200 :]).max() < 0.1 * np.abs(out[:48000]).max()


def test_short_note_released_at_its_level():
    """A decaying note let go early: the release starts from the level at note-off."""
    n = np.arange(T)
    decay = np.exp(-n / 4000.0) * np.where(n < HOLD, 1.0, np.exp(-(n - HOLD) / 800.0))
    note = (0.8 * np.sin(2 * np.pi * F0 * n / RATE) * decay).astype(np.float32)
    out = fit_note(note, 1600, HOLD, RATE, pitch=60)
    before = np.abs(out[1280:1600]).max()
    after = np.abs(out[1600 + 320 : 1600 + 640]).max()
    assert 0.3 * before < after < before  # continuous, then decaying (not a jump to 5%)
