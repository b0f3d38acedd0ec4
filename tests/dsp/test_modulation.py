"""Reference tests (NumPy float64, known answers) of the frame-rate buzz and the noise floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sing.dsp.modulation import (
    frame_rate_buzz_db,
    modulation_ratio_db,
    noise_floor_share,
)

SR = 16000
FRAME_RATE = SR / 256  # 62.5 Hz


def test_modulation_ratio_of_a_known_track():
    rate = 1000.0
    t = np.arange(600) / rate
    for d_slow, d_buzz in ((0.1, 0.01), (0.05, 0.05), (0.02, 0.2)):
        track = 1 + d_slow * np.cos(2 * np.pi * 10 * t) + d_buzz * np.cos(2 * np.pi * 62.5 * t)
        expected = 20 * math.log10(d_buzz / d_slow)
        assert modulation_ratio_db(track, rate, 62.5) == pytest.approx(expected, abs=0.05)


def _window_dtft(theta: float, n: int = 256) -> complex:
    k = np.arange(n)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * k / n)
    return complex(np.sum(w * np.exp(-1j * theta * k)))


def _expected_buzz(f0: float, f_slow: float, d_slow: float, d_buzz: float) -> float:
    """The linearised magnitude modulation of each bin of a 256-sample periodic-Hann STFT of
    ``cos(w0 t) (1 + d_slow cos(w1 t) + d_buzz cos(w2 t))``, computed from the window's DTFT;
    the mean over the bins within 30 dB of the loudest of 20 log10(M(w2) / M(w1))."""
    n = 256
    w0, w1, w2 = (2 * np.pi * f / SR for f in (f0, f_slow, FRAME_RATE))
    carriers = [abs(_window_dtft(2 * np.pi * k / n - w0)) for k in range(n // 2 + 1)]
    peak = max(carriers)
    ratios = []
    for k in range(n // 2 + 1):
        if carriers[k] < peak * 10 ** (-30 / 20):
            continue
        theta = 2 * np.pi * k / n
        c0 = _window_dtft(theta - w0)
        u = np.conj(c0) / abs(c0)

        def amp(w: float, d: float, theta=theta, u=u) -> float:
            return d / 2 * abs(u * _window_dtft(theta - w0 - w) +
                               np.conj(u * _window_dtft(theta - w0 + w)))

        ratios.append(20 * math.log10(amp(w2, d_buzz) / amp(w1, d_slow)))
    return float(np.mean(ratios))


@pytest.mark.parametrize("f0,d_buzz", [(1000.0, 0.05), (1000.0, 0.005), (440.0, 0.02)])
def test_buzz_of_an_amplitude_modulated_tone(f0, d_buzz):
    d_slow = 0.05
    t = np.arange(int(0.8 * SR)) / SR
    x = 0.5 * np.cos(2 * np.pi * f0 * t) * (
        1 + d_slow * np.cos(2 * np.pi * 7 * t) + d_buzz * np.cos(2 * np.pi * FRAME_RATE * t))
    measured = frame_rate_buzz_db(x, SR, FRAME_RATE, int(0.1 * SR), int(0.7 * SR))
    assert measured == pytest.approx(_expected_buzz(f0, 7.0, d_slow, d_buzz), abs=0.1)


def test_buzz_grows_with_the_depth_and_is_low_without_it():
    t = np.arange(SR) / SR
    rng = np.random.default_rng(0)
    slow = 1 + 0.05 * np.cos(2 * np.pi * 5 * t)
    tone = sum(np.cos(2 * np.pi * 330 * h * t) / h for h in (1, 2, 3)) * slow
    clean = frame_rate_buzz_db(tone + 1e-4 * rng.standard_normal(SR), SR, FRAME_RATE)
    buzz = tone * (1 + 0.05 * np.cos(2 * np.pi * FRAME_RATE * t))
    buzzy = frame_rate_buzz_db(buzz, SR, FRAME_RATE)
    buzzier = frame_rate_buzz_db(tone * (1 + 0.1 * np.cos(2 * np.pi * FRAME_RATE * t)), SR,
                                 FRAME_RATE)
    assert clean < -30.0
    assert buzzy > clean + 20
    assert buzzier - buzzy == pytest.approx(6.02, abs=0.5)


def test_buzz_of_silence_or_a_short_stretch_is_nan():
    assert math.isnan(frame_rate_buzz_db(np.zeros(SR), SR, FRAME_RATE))
    assert math.isnan(frame_rate_buzz_db(np.ones(200), SR, FRAME_RATE))
    # a silent note with a decoder's constant bias (a DC offset), and one at -110 dBFS
    assert math.isnan(frame_rate_buzz_db(np.full(SR, 3.1e-5), SR, FRAME_RATE))
    t = np.arange(SR) / SR
    faint = 3e-6 * np.sin(2 * np.pi * 440 * t)
    assert math.isnan(frame_rate_buzz_db(faint + 0.01, SR, FRAME_RATE))
    assert math.isfinite(frame_rate_buzz_db(100 * faint + 0.01, SR, FRAME_RATE))


def test_a_dc_offset_does_not_change_the_buzz():
    t = np.arange(SR) / SR
    tone = (1 + 0.05 * np.cos(2 * np.pi * 62.5 * t) + 0.1 * np.cos(2 * np.pi * 6 * t)) * (
        0.3 * np.sin(2 * np.pi * 440 * t))
    plain = frame_rate_buzz_db(tone, SR, FRAME_RATE, 1600, 11200)
    assert frame_rate_buzz_db(tone + 0.2, SR, FRAME_RATE, 1600, 11200) == pytest.approx(
        plain, abs=1e-6)


def test_a_perfectly_steady_track_reads_the_floor_not_minus_infinity():
    rate = 1000.0
    steady = np.full(600, 2.0)
    assert modulation_ratio_db(steady, rate, 62.5) == pytest.approx(-60.0, abs=1e-6)
    t = np.arange(600) / rate
    below = 2.0 * (1 + 1e-6 * np.cos(2 * np.pi * 62.5 * t))  # -120 dB: under the floor too
    assert modulation_ratio_db(below, rate, 62.5) == pytest.approx(-60.0, abs=0.01)
    assert math.isnan(modulation_ratio_db(steady, rate, 62.5, slow_floor_db=None,
                                          buzz_floor_db=None))


def test_noise_floor_of_white_noise_at_a_known_level():
    """A tone at a bin centre has exactly three non-zero bins per frame (periodic Hann), so
    the reference's quiet bins are the 510 others; white noise of variance s2 puts
    s2 * sum(w^2) = s2 * 3N/8 in every bin on average."""
    n = 1024
    a, sigma = 0.5, 0.01
    t = np.arange(4 * SR)
    tone = a * np.cos(2 * np.pi * 64 * t / n)  # bin 64
    noise = sigma * np.random.default_rng(1).standard_normal(len(t))
    # per frame: tone energy (A/2)^2 (N/2)^2 (1 + 2 / 4) = A^2 N^2 * 3 / 32, noise s2 * 3N/8
    tone_energy = a**2 * n**2 * 3 / 32
    noise_bin = sigma**2 * 3 * n / 8
    expected = 510 * noise_bin / (tone_energy + (n // 2 + 1) * noise_bin)
    share = noise_floor_share(tone + noise, tone)
    assert share == pytest.approx(expected, rel=0.03)
    assert noise_floor_share(tone, tone) < 1e-20
    louder = noise_floor_share(tone + 10 * noise, tone)
    assert louder == pytest.approx(510 * 100 * noise_bin / (tone_energy + 513 * 100 * noise_bin),
                                   rel=0.03)


def test_noise_floor_is_scale_free_and_pads_the_shorter_signal():
    rng = np.random.default_rng(2)
    t = np.arange(SR) / SR
    ref = np.cos(2 * np.pi * 500 * t) * np.exp(-3 * t)
    est = ref + 0.003 * rng.standard_normal(SR)
    share = noise_floor_share(est, ref)
    assert 0 < share < 1
    assert noise_floor_share(7 * est, 0.1 * ref) == pytest.approx(share, rel=1e-9)
    # the reference is silent after its end: all of the estimate's tail is in quiet bins
    tail = noise_floor_share(np.concatenate([est, est]), ref)
    assert tail > 0.45
    assert math.isnan(noise_floor_share(np.zeros(SR), ref))


def test_a_note_whose_harmonics_beat_at_the_frame_rate_is_left_out_given_its_pitch():
    """B1 (61.7 Hz): two neighbouring harmonics share every bin and beat at f0, 0.8 Hz from
    62.5 Hz: a clean harmonic tone reads as loud buzz unless its pitch is given."""
    t = np.arange(SR) / SR
    f0 = 440 * 2 ** ((35 - 69) / 12)
    slow = 1 + 0.05 * np.cos(2 * np.pi * 5 * t)
    low = slow * sum(np.cos(2 * np.pi * h * f0 * t) / h for h in range(1, 40))
    assert frame_rate_buzz_db(low, SR, FRAME_RATE, 1600, 11200) > -10
    assert math.isnan(frame_rate_buzz_db(low, SR, FRAME_RATE, 1600, 11200, pitches=[35]))
    # a 440 Hz note keeps all its bins: the same value with or without its pitch
    a4 = slow * sum(np.cos(2 * np.pi * h * 440 * t) / h for h in range(1, 8))
    a4 = a4 * (1 + 0.02 * np.cos(2 * np.pi * FRAME_RATE * t))
    plain = frame_rate_buzz_db(a4, SR, FRAME_RATE, 1600, 11200)
    assert frame_rate_buzz_db(a4, SR, FRAME_RATE, 1600, 11200, pitches=[69]) == plain


def test_the_slow_band_is_floored_at_a_one_percent_modulation():
    rate = 1000.0
    t = np.arange(600) / rate
    ripple = 2.0 * (1 + 0.01 * np.cos(2 * np.pi * 62.5 * t))  # 1% at the frame rate, no slow
    assert modulation_ratio_db(ripple, rate, 62.5) == pytest.approx(0.0, abs=0.1)
    tiny = 2.0 * (1 + 1e-4 * np.cos(2 * np.pi * 62.5 * t))
    assert modulation_ratio_db(tiny, rate, 62.5) == pytest.approx(-40.0, abs=0.1)
    assert modulation_ratio_db(tiny, rate, 62.5, slow_floor_db=None) > 40.0
