"""`sing render` mixes and writes in blocks (issue 20, item 4): the same samples as the
in-memory mix, memory bounded by the notes sounding at once, a too-long piece refused first."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from midi_helpers import write_midi

import sing.api
from sing.errors import SingError
from sing.midi.reader import read_midi
from sing.midi.render import finish_mix, generate_plan, mix_plan, plan_render, render_file
from sing.midi.stream import mix_blocks, write_mix


def _plan(model, path: Path):
    plan = plan_render(model, read_midi(path))
    return plan, generate_plan(model, plan)


def test_blocks_are_the_in_memory_mix_and_the_file_is_identical(gm_model_file, tmp_path):
    notes = [(0.0, 0.4, 60, 100), (0.1, 1.5, 64, 80), (2.5, 0.2, 67, 60), (2.55, 0.1, 72, 127)]
    path = write_midi(tmp_path / "a.mid", [(0, 0, notes), (1, 40, [(0.3, 0.9, 55, 100)])])
    model = sing.api.load_model(gm_model_file)
    plan, waves = _plan(model, path)
    whole = mix_plan(plan, waves)
    streamed = np.concatenate(list(mix_blocks(plan, waves)))
    np.testing.assert_array_equal(streamed, whole)  # the same sums, sample for sample
    out = tmp_path / "a.wav"
    render_file(gm_model_file, path, out)
    got, rate = sf.read(str(out), dtype="int16")
    mix, _ = finish_mix(whole, plan.sample_rate)
    want = np.clip(np.round(mix.astype(np.float64) * 32767), -32767, 32767).astype(np.int16)
    assert rate == plan.sample_rate and np.array_equal(got, want)
    # resampled in blocks: the same length and (to soxr's streaming rounding) the same samples
    out44 = tmp_path / "a44.wav"
    render_file(gm_model_file, path, out44, sample_rate=44100)
    got44, rate44 = sf.read(str(out44), dtype="float32")
    want44, _ = finish_mix(whole, plan.sample_rate, 44100)
    assert rate44 == 44100 and abs(len(got44) - len(want44)) <= 2
    n = min(len(got44), len(want44))
    assert np.abs(got44[:n] - want44[:n]).max() < 2e-3
    assert abs(np.abs(got44).max() - 10 ** (-1 / 20)) < 1e-3


def test_memory_is_bounded_by_the_notes_not_the_length(gm_model_file, tmp_path):
    # 30 minutes: one short note every 3 s (6 beats at 120 bpm). The whole mix would be 115 MB
    # of float32 (and a float64 copy).
    notes = [(6.0 * i, 0.6, 60 + i % 5, 100) for i in range(600)]
    path = write_midi(tmp_path / "long.mid", [(0, 0, notes)])
    model = sing.api.load_model(gm_model_file)
    plan, waves = _plan(model, path)
    tracemalloc.start()
    try:
        write_mix(tmp_path / "long.wav", plan, waves)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    info = sf.info(str(tmp_path / "long.wav"))
    assert info.frames > 599 * 3 * plan.sample_rate  # the last note starts at 29 min 57 s
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_a_piece_longer_than_a_wav_holds_is_refused_before_generating(gm_model_file, tmp_path):
    # a note 40 hours in (80 * 3600 beats at 120 bpm): 2.3e9 samples at 16 kHz
    path = write_midi(tmp_path / "huge.mid", [(0, 0, [(0.0, 0.5, 60, 100),
                                                       (80 * 3600.0, 0.5, 62, 100)])])
    out = tmp_path / "huge.wav"
    with pytest.raises(SingError, match="more than a 16-bit WAV holds"):
        render_file(gm_model_file, path, out)
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))


def test_the_library_render_refuses_its_inputs_and_holds_the_lock(gm_model_file, tmp_path,
                                                                  holder):
    path = write_midi(tmp_path / "b.mid", [(0, 0, [(0.0, 0.5, 60, 100)])])
    before = path.read_bytes()
    with pytest.raises(SingError, match="b.mid"):
        render_file(gm_model_file, path, path)  # the WAV over the MIDI file: refused
    assert path.read_bytes() == before
    with pytest.raises(SingError):
        render_file(gm_model_file, path, gm_model_file)  # over the model: refused
    out = tmp_path / "b.wav"
    pid = holder(out)  # another process writes it now
    with pytest.raises(SingError, match=str(pid)):
        render_file(gm_model_file, path, out)
    assert not out.exists()
