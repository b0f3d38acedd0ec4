"""`sing train --init-from FILE`: start from a model of another vocabulary (tiny preset).

The source is a tiny model of four instruments and two velocities; the target, the test data
set (piano, violin, flute; five velocities): the violin keeps its own row, the piano takes the
mean of the source's keyboards (one), the flute (no flute in the source) the mean of all four;
velocities 25/50/75 take the row of 50 (75 is as near to 100: the lower wins), 100/127 of 100.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file
from train_helpers import TINY, run_cli

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.models import SING, SingConfig
from sing.models.io import read_info, save_model
from sing.models.transfer import nearest_velocity, transfer_weights

SOURCE = Vocabulary(
    instruments=("string_acoustic_040", "keyboard_acoustic_001", "brass_acoustic_056",
                 "string_acoustic_041"),
    instrument_ids=(40, 1, 56, 41),
    families=("string", "keyboard", "brass", "string"),
    velocities=(50, 100),
    pitch_min=36,
    pitch_max=84,
    note_length=64000,
)
SPECIAL = ("generator.instrument_embedding.weight", "generator.velocity_embedding.weight")


def _source_file(path: Path, vocabulary: Vocabulary = SOURCE, **sizes) -> Path:
    torch.manual_seed(7)
    model = SING(SingConfig.for_vocabulary(vocabulary, "tiny", **sizes), vocabulary)
    return save_model(path, model, recipe={"stage": "source"})


def _train(data: Path, out: Path, source: Path, *extra: str) -> int:
    return run_cli("train", "--data", str(data), "--out", str(out), *TINY, "--stages", "sing",
                   "--init-from", str(source), *extra)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.strip().splitlines() if x.startswith("sing: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _expected_rows(source: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """Float64 reference of the target's instrument and velocity tables."""
    inst = source["generator.instrument_embedding.weight"].double().numpy()
    vel = source["generator.velocity_embedding.weight"].double().numpy()
    instruments = np.stack([inst[[1]].mean(0), inst[0], inst.mean(0)])  # piano, violin, flute
    velocities = vel[[0, 0, 0, 1, 1]]  # 25, 50, 75 -> 50; 100, 127 -> 100
    return instruments, velocities


def test_nearest_velocity():
    assert [nearest_velocity(v, (50, 100)) for v in (25, 50, 75, 76, 127)] == [
        50, 50, 50, 100, 100]


def test_transfer_copies_shared_weights_and_makes_new_rows(gm_dataset, tmp_path):
    from sing.data.nsynth import NSynthDataset

    target_vocab = NSynthDataset(gm_dataset, split="train").vocabulary
    assert target_vocab.instruments == ("keyboard_acoustic_000", "string_acoustic_040",
                                        "flute_acoustic_073")
    source, _ = _load(_source_file(tmp_path / "src.safetensors"))
    torch.manual_seed(0)
    target = SING(SingConfig.for_vocabulary(target_vocab, "tiny"), target_vocab)
    report = transfer_weights(source, target, "src.safetensors")
    src, dst = source.state_dict(), target.state_dict()
    assert sorted(report.copied) == sorted(k for k in dst if k not in SPECIAL)
    for name in report.copied:
        assert torch.equal(dst[name], src[name]), name
    instruments, velocities = _expected_rows(src)
    np.testing.assert_allclose(dst[SPECIAL[0]].double().numpy(), instruments, atol=1e-7)
    np.testing.assert_allclose(dst[SPECIAL[1]].double().numpy(), velocities, atol=0)
    assert report.instruments == {"keyboard_acoustic_000": "mean of 1 keyboard instrument(s)",
                                  "string_acoustic_040": "same name",
                                  "flute_acoustic_073": "mean of all 4 instruments"}
    assert report.velocities == {25: 50, 50: 50, 75: 50, 100: 100, 127: 100}


def _load(path: Path):
    from sing.models.io import load_model_file

    return load_model_file(path, kind="sing")


def test_init_from_trains_loads_and_renders(gm_dataset, tmp_path, capsys):
    source_file = _source_file(tmp_path / "src.safetensors")
    src = load_file(str(source_file))
    # zero epochs: the model file is the transfer itself
    assert _train(gm_dataset, tmp_path / "zero", source_file, "--epochs-sing", "0") == 0
    zero = load_file(str(tmp_path / "zero" / "model.safetensors"))
    for name, tensor in zero.items():
        if name not in SPECIAL:
            assert torch.equal(tensor, src[name]), name
    instruments, velocities = _expected_rows(src)
    np.testing.assert_allclose(zero[SPECIAL[0]].double().numpy(), instruments, atol=1e-7)
    np.testing.assert_allclose(zero[SPECIAL[1]].double().numpy(), velocities, atol=0)
    recipe = read_info(tmp_path / "zero" / "model.safetensors").recipe
    assert recipe["init_from"] == str(source_file) and recipe["init_model"] is None
    assert recipe["transfer"]["instruments"]["flute_acoustic_073"] == "mean of all 4 instruments"
    assert recipe["transfer"]["velocities"] == {"25": 50, "50": 50, "75": 50, "100": 100,
                                                "127": 100}
    # one epoch: trained from there; the file loads and plays the new instrument
    assert _train(gm_dataset, tmp_path / "one", source_file, "--epochs-sing", "1") == 0
    model_file = tmp_path / "one" / "model.safetensors"
    one = load_file(str(model_file))
    assert not torch.equal(one["decoder.layers.0.weight"], src["decoder.layers.0.weight"])
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=100, time=0),
                            mido.Message("note_off", note=60, velocity=0, time=480)])
    midi.tracks.append(track)
    midi.save(tmp_path / "one_note.mid")
    out = tmp_path / "song.wav"
    assert run_cli("render", str(tmp_path / "one_note.mid"), "--model", str(model_file),
                   "--instrument", "flute_acoustic_073", "--out", str(out)) == 0
    wav, rate = sf.read(out)
    assert rate == 16000 and len(wav) > 8000 and np.abs(wav).max() > 0.1


@pytest.mark.parametrize("change, message", [
    ({"sizes": {"hidden_size": 32}},
     "its config differs from preset 'tiny' sized for this data set (hidden_size 32 vs 64)"),
    ({"note_length": 16000},
     "its notes are 16000 samples at 16000 Hz, this data set's 64000 at 16000 Hz"),
])
def test_init_from_refuses_what_cannot_carry_over(gm_dataset, tmp_path, capsys, change,
                                                 message):
    vocabulary = dataclasses.replace(SOURCE, note_length=change.get("note_length", 64000))
    source_file = _source_file(tmp_path / "bad.safetensors", vocabulary,
                               **change.get("sizes", {}))
    assert _train(gm_dataset, tmp_path / "run", source_file) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"sing: error: {source_file}: {message}"), line
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_init_from_names_the_preset_it_needs(gm_dataset, tmp_path):
    from sing.data.nsynth import NSynthDataset

    target_vocab = NSynthDataset(gm_dataset, split="train").vocabulary
    source, _ = _load(_source_file(tmp_path / "src.safetensors"))
    target = SING(SingConfig.for_vocabulary(target_vocab, "small"), target_vocab)
    with pytest.raises(SingError, match=r"src\.safetensors: its config differs from preset "
                       r"'small' .*; train with --preset tiny$"):
        transfer_weights(source, target, tmp_path / "src.safetensors", preset="small")


def test_init_from_and_init_model_together(gm_dataset, tmp_path, capsys):
    source_file = _source_file(tmp_path / "src.safetensors")
    assert _train(gm_dataset, tmp_path / "run", source_file,
                  "--init-model", str(source_file)) == 2
    assert "--init-model and --init-from both give the starting model" in _one_error_line(capsys)


def test_init_from_an_autoencoder_file(gm_dataset, reference_run, tmp_path, capsys):
    autoencoder = reference_run / "autoencoder.safetensors"
    assert _train(gm_dataset, tmp_path / "run", autoencoder) == 2
    line = _one_error_line(capsys)
    assert str(autoencoder) in line and "a sing model is needed here" in line


ALL_BUT_INSTRUMENTS = ("generator.lstm,generator.output,generator.pitch_embedding,"
                       "generator.velocity_embedding,generator.time_embedding,decoder")


@pytest.mark.parametrize("option, value, trained_names", [
    ("--freeze", ALL_BUT_INSTRUMENTS, SPECIAL[:1]),
    ("--train-only", "generator.instrument_embedding,generator.velocity_embedding", SPECIAL),
])
def test_freeze_and_train_only(gm_dataset, tmp_path, option, value, trained_names):
    source_file = _source_file(tmp_path / "src.safetensors")
    assert _train(gm_dataset, tmp_path / "zero", source_file, "--epochs-sing", "0") == 0
    start = load_file(str(tmp_path / "zero" / "model.safetensors"))
    assert _train(gm_dataset, tmp_path / "run", source_file, "--epochs-sing", "1",
                  option, value) == 0
    trained = load_file(str(tmp_path / "run" / "model.safetensors"))
    for name, tensor in trained.items():
        assert torch.equal(tensor, start[name]) == (name not in trained_names), name
    recipe = read_info(tmp_path / "run" / "model.safetensors").recipe
    assert recipe[option[2:].replace("-", "_")] == value.split(",")


@pytest.mark.parametrize("freeze, message", [
    ("generator.lstmx", "--freeze generator.lstmx: no such parameters"),
    ("generator,decoder", "--freeze generator,decoder leaves stage sing nothing to train"),
    ("--train-only encoder", "--train-only encoder leaves stage sing nothing to train"),
    ("--train-only decoder --freeze generator",
     "--freeze and --train-only both choose the trained parameters"),
])
def test_freeze_refuses_bad_prefixes(gm_dataset, tmp_path, capsys, freeze, message):
    source_file = _source_file(tmp_path / "src.safetensors")
    args = freeze.split() if freeze.startswith("--") else ["--freeze", freeze]
    assert _train(gm_dataset, tmp_path / "run", source_file, *args) == 2
    assert message in _one_error_line(capsys)


def test_init_from_shipped(gm_dataset, tmp_path, capsys, monkeypatch):
    from sing.pretrained import SHIPPED_MODEL

    monkeypatch.chdir(tmp_path)  # no file named "shipped" here
    assert _train(gm_dataset, tmp_path / "run", Path("shipped")) == 2
    assert _one_error_line(capsys) == (
        f"sing: error: {SHIPPED_MODEL}: its notes are 16000 samples at 16000 Hz, this data "
        "set's 64000 at 16000 Hz (build the data set with the same --duration and "
        "--sample-rate)")
