"""Issue 20, items 6 and 11: narrow models never play a pitch they lack; the Python API checks
its arguments as the CLI does (one SingError, same words)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from midi_helpers import gm_vocabulary, save_tiny, write_midi

import sing.api
from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.midi.reader import read_midi
from sing.midi.render import plan_render


def _narrow_model(tmp_path: Path) -> torch.nn.Module:
    full = gm_vocabulary()
    narrow = Vocabulary(instruments=full.instruments, instrument_ids=full.instrument_ids,
                        families=full.families, pitch_min=60, pitch_max=64,
                        note_length=full.note_length, hold=0.5)
    return sing.api.load_model(save_tiny(tmp_path / "narrow.safetensors", narrow))


def test_narrow_model_skips_pitches_it_has_no_octave_of(tmp_path, caplog):
    model = _narrow_model(tmp_path)
    # 72 -> 60 and 52 -> 64 fold into 60-64; 65, 70 and 53 have no octave there
    notes = [(i * 0.25, 0.2, p, 100) for i, p in enumerate((60, 72, 52, 65, 70, 53))]
    path = write_midi(tmp_path / "narrow.mid", [(0, 0, notes)])
    with caplog.at_level("WARNING"):
        plan = plan_render(model, read_midi(path))
    played = {p for _, p, _ in plan.keys}
    assert played == {60, 64} and all(60 <= p <= 64 for p in played)
    assert len(plan.score.notes) == len(plan.note_keys) == 3
    assert "skipped 3 notes" in caplog.text and "53, 65, 70" in caplog.text
    only_bad = write_midi(tmp_path / "bad.mid", [(0, 0, [(0, 0.5, 66, 100)])])
    with pytest.raises(SingError, match="no note can be played"):
        plan_render(model, read_midi(only_bad))


@pytest.fixture(scope="module")
def gm_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    return sing.api.load_model(save_tiny(folder / "gm.safetensors", gm_vocabulary()))


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: sing.api.synthesize(m, "piano", 200, 100), "pitch must be a whole number"),
    (lambda m: sing.api.synthesize(m, "piano", 60.5, 100), "pitch must be a whole number"),
    (lambda m: sing.api.synthesize(m, "piano", "C4", 100), "pitch must be a whole number"),
    (lambda m: sing.api.synthesize(m, "piano", 60, 0), "velocity must be a whole number"),
    (lambda m: sing.api.synthesize(m, True, 60, 100), "an instrument is a name"),
    (lambda m: sing.api.synthesize(m, 3.5, 60, 100), "an instrument is a name"),
    (lambda m: sing.api.synthesize_batch(m, [("piano", 60)]), "a note is an NSynth note name"),
    (lambda m: sing.api.synthesize_batch(m, "piano-060-100"), "notes must be a list"),
    (lambda m: sing.api.synthesize_batch(m, ["keyboard_acoustic_000-060-100"], batch_size=0),
     "batch_size must be an integer"),
    (lambda m: sing.api.synthesize_batch(m, ["keyboard_acoustic_000-060-100"], dtype="int4"),
     "dtype must be float32"),
    (lambda m: sing.api.synthesize(m, {"keyboard_acoustic_000": 1e308,
                                       "string_acoustic_040": 1e308}, 60, 100), "blend"),
])
def test_api_arguments_one_sing_error(gm_model, call, message):
    with pytest.raises(SingError, match=message):
        call(gm_model)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sample_rate": 0}, "sample_rate must be a whole number from 1000"),
    ({"sample_rate": 7}, "sample_rate must be a whole number from 1000"),
    ({"sample_rate": 10**9}, "sample_rate must be a whole number from 1000"),
    ({"program_map": {200: "keyboard_acoustic_000"}}, "GM program must be a whole number"),
    ({"instrument": True}, "an instrument is a name"),
    ({"batch_size": 0}, "batch_size must be an integer"),
])
def test_render_midi_arguments(gm_model, tmp_path, kwargs, message):
    path = write_midi(tmp_path / "one.mid", [(0, 0, [(0, 0.5, 60, 100)])])
    with pytest.raises(SingError, match=message):
        sing.api.render_midi(gm_model, path, **kwargs)
    ok = sing.api.render_midi(gm_model, path, sample_rate=22050)
    native = sing.api.render_midi(gm_model, path)
    assert ok.dtype == torch.float32 and abs(len(ok) / 22050 - len(native) / 16000) < 1e-3
    assert np.abs(ok.numpy()).max() > 0


def test_load_model_on_a_missing_gpu_is_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    path = save_tiny(tmp_path / "m.safetensors", gm_vocabulary())
    with pytest.raises(SingError, match="no CUDA GPU"):
        sing.api.load_model(path, device="cuda")
    with pytest.raises(SingError, match="int8 is a generation dtype"):
        sing.api.load_model(path, dtype=torch.int8)
