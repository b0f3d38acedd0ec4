"""Metrics, pitch, resample reference and aggregation against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sing.evaluation.aggregate import NoteRecord, aggregate, summarize
from sing.evaluation.figures import log_spectrogram
from sing.evaluation.metrics import note_metrics
from sing.evaluation.pitch import cents_error, estimate_f0, fold_octaves, measure_pitch, midi_to_hz
from sing.evaluation.resample import ResampleReference, pitch_shift_by_resampling
from sing.evaluation.tables import results_markdown


def _reference_log_spec(x: np.ndarray) -> np.ndarray:
    """float64 NumPy log(1 + |STFT|^2): n_fft 1024, hop 256, periodic Hann, no centering."""
    n = 1024
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    frames = np.stack([x[i : i + n] for i in range(0, len(x) - n + 1, 256)])
    return np.log(1.0 + np.abs(np.fft.rfft(frames * window, axis=1)) ** 2).T


def test_wav_metrics_hand_computed() -> None:
    target = torch.zeros(2, 2048)
    estimate = torch.zeros(2, 2048)
    estimate[0, :1024] = 0.5  # half the samples off by 0.5
    estimate[1] = -0.25  # every sample off by 0.25
    m = note_metrics(estimate, target)
    assert m["wav_mse"].tolist() == pytest.approx([0.125, 0.0625], abs=1e-12)
    assert m["wav_l1"].tolist() == pytest.approx([0.25, 0.25], abs=1e-12)


def test_spectral_metrics_against_float64_reference() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(4096) * 0.1
    b = np.sin(2 * np.pi * 440 * np.arange(4096) / 16000) * 0.5
    m = note_metrics(torch.tensor(a[None], dtype=torch.float32),
                     torch.tensor(b[None], dtype=torch.float32))
    diff = _reference_log_spec(a) - _reference_log_spec(b)
    assert m["spectral_l1"].item() == pytest.approx(np.abs(diff).mean(), rel=1e-4)
    assert m["spectral_mse"].item() == pytest.approx((diff**2).mean(), rel=1e-4)
    # identical signals: all zero
    same = note_metrics(torch.tensor(b[None]), torch.tensor(b[None]))
    assert all(v.item() == 0.0 for v in same.values())
    # the report's NumPy spectrogram is the same representation
    np.testing.assert_allclose(log_spectrogram(a), _reference_log_spec(a), rtol=1e-9, atol=1e-9)


def test_cents_and_octave_folding() -> None:
    assert midi_to_hz(69) == 440.0
    assert cents_error(880.0, 69) == pytest.approx(1200.0)
    assert cents_error(440.0 * 2 ** (30 / 1200), 69) == pytest.approx(30.0)
    assert fold_octaves(1200.0 + 20.0) == pytest.approx(20.0)
    assert fold_octaves(-2400.0 - 40.0) == pytest.approx(-40.0)
    assert math.isnan(cents_error(float("nan"), 60))


@pytest.mark.parametrize("pitch", [40, 57, 69, 84])
def test_pitch_of_synthetic_tones(pitch: int) -> None:
    sr = 16000
    t = np.arange(4 * sr) / sr
    f = midi_to_hz(pitch)
    # harmonic tone with a decaying envelope, like a plucked note
    wav = sum(0.3 / k * np.sin(2 * np.pi * k * f * t) for k in (1, 2, 3)) * np.exp(-t)
    result = measure_pitch(wav, sr, pitch)
    assert abs(result.cents) < 10.0
    assert result.correct and result.correct_ignoring_octave
    # one semitone off is wrong; an octave off is right only ignoring octaves
    assert not measure_pitch(wav, sr, pitch + 1).correct
    octave = measure_pitch(wav, sr, pitch - 12)
    assert not octave.correct and octave.correct_ignoring_octave
    assert math.isnan(estimate_f0(np.zeros(4 * sr), sr))


def test_resample_shifts_a_tone_by_the_interval() -> None:
    sr = 16000
    t = np.arange(2 * sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    for semitones in (-5, 3, 7):
        shifted = pitch_shift_by_resampling(tone, semitones)
        assert shifted.shape == tone.shape and shifted.dtype == np.float32
        expected = 440.0 * 2 ** (semitones / 12)
        n_valid = int(len(tone) / 2 ** (semitones / 12)) - 200
        seg = shifted[100:min(n_valid, len(tone) - 100)].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=1 << 20))
        peak_hz = np.argmax(spectrum) * sr / (1 << 20)
        assert peak_hz == pytest.approx(expected, abs=0.5)
        assert abs(cents_error(peak_hz, 69 + semitones)) < 2.0
    # shifting up shortens the note: the end is zero-padded
    up = pitch_shift_by_resampling(tone, 12)
    assert np.all(up[len(tone) // 2 + 50 :] == 0.0)
    assert np.abs(up[: len(tone) // 2 - 50]).max() > 0.4
    np.testing.assert_array_equal(pitch_shift_by_resampling(tone, 0), tone.astype(np.float32))


def test_resample_reference_picks_nearest_training_pitch() -> None:
    ref = ResampleReference([(0, 3, 60, 1), (1, 3, 64, 1), (2, 3, 62, 2), (3, 4, 61, 1)])
    assert ref.source(3, 61, 1).index == 0
    assert ref.source(3, 62, 1).index == 0  # tie -> the lower pitch
    assert ref.source(3, 63, 1).index == 1
    assert ref.source(3, 70, 2).index == 2  # only same instrument and velocity
    assert ref.source(5, 60, 1) is None


def _rec(system: str, family: str, l1: float, ok: bool, ok8: bool) -> NoteRecord:
    return NoteRecord(system, f"x-{family}", "x", family, 60, 100, l1, l1 * l1, 0.01, 0.1,
                      261.6, 0.0 if ok else 1200.0, ok, ok8)


def test_aggregate_per_system_and_family() -> None:
    records = [
        _rec("sing", "bass", 0.2, True, True), _rec("sing", "bass", 0.4, False, True),
        _rec("sing", "flute", 0.6, False, False),
        _rec("ground_truth", "bass", 0.0, True, True), _rec("ground_truth", "bass", 0.0, True,
                                                            True),
        _rec("ground_truth", "flute", 0.0, False, True),
    ]
    out = aggregate(records)
    sing = out["systems"]["sing"]
    assert sing["overall"]["spectral_l1"] == pytest.approx(0.4)
    assert sing["overall"]["pitch_accuracy"] == pytest.approx(1 / 3)
    assert sing["overall"]["pitch_accuracy_octave"] == pytest.approx(2 / 3)
    assert sing["families"]["bass"]["spectral_l1"] == pytest.approx(0.3)
    assert sing["families"]["flute"]["pitch_accuracy"] == 0.0
    assert out["relative_pitch_accuracy"] == pytest.approx((1 / 3) / (2 / 3))
    assert list(out["systems"]) == ["sing", "ground_truth"]
    md = results_markdown(out)
    assert "| SING | 0.4 | 0.1867 | 0.01 | 0.1 | 33.3% | 66.7% | 3 |" in md
    assert "| flute | 1 | 0.6 | 0.0% | 0 | 0.0% |" in md
    assert summarize([])["notes"] == 0
