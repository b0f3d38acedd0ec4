"""Pitch accuracy on real rendered notes of known pitch (FluidR3: piano, violin, flute)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sing.data.nsynth import NSynthDataset
from sing.evaluation.pitch import measure_pitch
from sing.evaluation.resample import pitch_shift_by_resampling


def test_pitch_accuracy_of_rendered_notes(gm_dataset: Path) -> None:
    ds = NSynthDataset(gm_dataset)
    velocity = ds.vocabulary.velocity_index(100)
    items = [ds[i] for i in range(len(ds)) if ds[i]["velocity"] == velocity]
    assert len(items) == 24  # 3 instruments x 8 pitches
    results = [measure_pitch(it["wav"].numpy(), ds.vocabulary.sample_rate, it["pitch"])
               for it in items]
    within = sum(r.correct for r in results)
    misses = [(it["name"], r.f0_hz) for it, r in zip(items, results, strict=True) if not r.correct]
    assert within >= 22, misses
    assert all(r.correct_ignoring_octave for r in results)
    # asking for the neighbouring semitone must fail on (almost) every note
    wrong = [measure_pitch(it["wav"].numpy(), ds.vocabulary.sample_rate, it["pitch"] + 1)
             for it in items]
    assert sum(r.correct for r in wrong) == 0


def test_resampled_real_note_lands_on_the_new_pitch(gm_dataset: Path) -> None:
    ds = NSynthDataset(gm_dataset)
    item = next(ds[i] for i in range(len(ds)) if ds[i]["name"].startswith("flute")
                and ds[i]["pitch"] == 60)
    wav = item["wav"].numpy()
    for semitones in (-3, 2):
        shifted = pitch_shift_by_resampling(wav, semitones)
        result = measure_pitch(shifted, ds.vocabulary.sample_rate, 60 + semitones)
        assert abs(result.cents) < 25.0, result
        peak, shifted_peak = np.abs(wav).max(), np.abs(shifted).max()
        assert 0.7 * peak < shifted_peak < 1.3 * peak
