"""`sing info` and `sing generate` on an untrained tiny model file saved by the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from sing import api
from sing.cli import main


def test_info_model(tiny_model_file: Path, capsys):
    assert main(["info", str(tiny_model_file), "--instruments"]) == 0
    out = capsys.readouterr().out
    assert "sing model (format 1)" in out
    assert "hidden_size      64" in out
    names = "guitar_acoustic_009, brass_acoustic_001, flute_synthetic_000"
    assert f"instruments      3 ({names})" in out
    assert "velocities       25, 50, 75, 100, 127" in out
    assert "pitches          21-108" in out
    assert '{"stage": "untrained"}' in out
    assert "      1      1  brass_acoustic_001  brass" in out


def test_info_preset_paper(capsys):
    assert main(["info", "--preset", "paper"]) == 0
    out = capsys.readouterr().out
    assert "63,747,983 = 63.7 M" in out
    assert "265 frames (LSTM steps) per 64000-sample note, decoder output 65024 samples" in out


def test_generate_writes_16bit_wavs_named_after_the_notes(tiny_model_file: Path, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("# two notes\nflute_synthetic_000-060-025\n\nguitar_acoustic_009-069-100\n")
    out = tmp_path / "out"
    argv = ["generate", "--model", str(tiny_model_file), "--out", str(out), "--batch-size", "2",
            "brass_acoustic_001-048-127", "--list", str(notes), "--instrument", "9",
            "--pitch", "70", "--velocity", "50"]
    assert main(argv) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "brass_acoustic_001-048-127.wav", "flute_synthetic_000-060-025.wav",
        "guitar_acoustic_009-069-100.wav", "guitar_acoustic_009-070-050.wav",
    ])
    info = sf.info(str(out / "guitar_acoustic_009-069-100.wav"))
    assert (info.samplerate, info.frames, info.subtype) == (16000, 16000, "PCM_16")
    model = api.load_model(tiny_model_file)
    expected = api.synthesize(model, instrument="guitar_acoustic_009", pitch=69, velocity=100)
    written, _ = sf.read(str(out / "guitar_acoustic_009-069-100.wav"), dtype="float32")
    assert np.max(np.abs(written - expected.numpy())) <= 1 / 32768 + 1e-7
    assert expected.abs().max() > 1e-3  # an untrained model still makes a signal
    batch = api.synthesize_batch(model, [("brass_acoustic_001", 48, 127), (9, 69, 100)])
    assert batch.shape == (2, 16000)
    assert torch.allclose(batch[1], expected, atol=1e-6)


def test_generate_bfloat16(tiny_model_file: Path, tmp_path: Path):
    out = tmp_path / "bf16"
    argv = ["generate", "--model", str(tiny_model_file), "--out", str(out), "--dtype", "bfloat16",
            "guitar_acoustic_009-069-100"]
    assert main(argv) == 0
    low, _ = sf.read(str(out / "guitar_acoustic_009-069-100.wav"), dtype="float32")
    ref = api.synthesize(api.load_model(tiny_model_file), "guitar_acoustic_009", 69, 100).numpy()
    assert np.max(np.abs(low - ref)) < 0.05 * np.max(np.abs(ref))


def test_generate_int8(tiny_model_file: Path, tmp_path: Path):
    out = tmp_path / "int8"
    argv = ["generate", "--model", str(tiny_model_file), "--out", str(out), "--dtype", "int8",
            "guitar_acoustic_009-069-100"]
    assert main(argv) == 0
    low, _ = sf.read(str(out / "guitar_acoustic_009-069-100.wav"), dtype="float32")
    model = api.load_model(tiny_model_file)
    ref = api.synthesize(model, "guitar_acoustic_009", 69, 100).numpy()
    int8 = api.synthesize_batch(model, [("guitar_acoustic_009", 69, 100)], dtype=torch.int8)[0]
    int8 = int8.numpy()
    assert np.max(np.abs(low - int8)) <= 1 / 32768 + 1e-7  # the file is the API's int8 note
    assert 0 < np.max(np.abs(low - ref)) < 0.05 * np.max(np.abs(ref))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["piano_acoustic_000-060-100"], "unknown instrument 'piano_acoustic_000': this model "
         "knows 3 instruments (guitar_acoustic_009, brass_acoustic_001, flute_synthetic_000)"),
        (["guitar_acoustic_009-010-100"], "pitch 10 is outside this model's range 21-108"),
        (["guitar_acoustic_009-060-090"], "velocity 90 is not one of this model's velocities "
         "(25, 50, 75, 100, 127)"),
        (["guitar-60-100"], "not an NSynth note name"),
        (["--instrument", "9"], "--instrument needs --pitch"),
        ([], "no notes given"),
        (["--list", "/nonexistent/notes.txt"], "/nonexistent/notes.txt: no such file"),
        (["--device", "cuda:7", "guitar_acoustic_009-060-100"], "no CUDA GPU"),
        (["--dtype", "float16", "guitar_acoustic_009-060-100"],
         "--dtype must be float32, bfloat16, int8, not 'float16'"),
    ],
)
def test_generate_errors(tiny_model_file: Path, tmp_path: Path, capsys, args, message):
    if "cuda" in " ".join(args) and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = tmp_path / "out"
    assert main(["generate", "--model", str(tiny_model_file), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sing: error: ") and message in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_info_errors(tiny_model_file: Path, capsys):
    # `sing info` with neither: the shipped model (tests/models/test_shipped.py)
    assert main(["info", str(tiny_model_file), "--preset", "tiny"]) == 2
    assert "give a model file or --preset NAME" in capsys.readouterr().err
    assert main(["info", "--preset", "huge"]) == 2
    assert capsys.readouterr().err == (
        "sing: error: unknown preset 'huge' (valid: paper, medium, small, tiny)\n"
    )


def test_bad_model_file_via_the_command_line(tmp_path: Path):
    """One line on stderr, exit 2, no traceback (a real process)."""
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    argv = ["generate", "--model", str(bad), "guitar_acoustic_009-060-100"]
    proc = subprocess.run(
        [sys.executable, "-m", "sing", *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    expected = f"sing: error: {bad}: not a sing model file (too short to be safetensors)\n"
    assert proc.stderr == expected


def test_info_and_generate_on_the_gm_dataset_vocabulary(gm_dataset: Path, tmp_path: Path, capsys):
    """A tiny model sized for the rendered GM data set generates its notes at its length."""
    import json

    from sing.data.vocabulary import Vocabulary
    from sing.dsp import spectral_loss
    from sing.models import SING, SingConfig
    from sing.models.io import save_model

    examples = json.loads((gm_dataset / "examples.json").read_text())
    vocabulary = Vocabulary.from_examples(examples)
    torch.manual_seed(0)
    model = SING(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary)
    path = save_model(tmp_path / "gm.safetensors", model, recipe={"data": "gm"})
    name = sorted(examples)[0]
    assert main(["info", str(path)]) == 0
    assert f"instruments      {vocabulary.num_instruments} (" in capsys.readouterr().out
    assert main(["generate", "--model", str(path), "--out", str(tmp_path / "out"), name]) == 0
    fake, rate = sf.read(str(tmp_path / "out" / f"{name}.wav"), dtype="float32")
    real, real_rate = sf.read(str(gm_dataset / "audio" / f"{name}.wav"), dtype="float32")
    assert rate == real_rate == vocabulary.sample_rate and fake.shape == real.shape
    loss = spectral_loss(torch.from_numpy(fake)[None], torch.from_numpy(real)[None]).item()
    assert loss > 0.0  # an untrained model is not the recording


def test_generate_refuses_two_notes_with_one_file_name(tiny_model_file: Path, tmp_path: Path,
                                                       capsys):
    out = tmp_path / "blends"
    # 0.1% and 0.2% of the brass both round to 0: two different notes, one file name
    argv = ["generate", "--model", str(tiny_model_file), "--out", str(out), "--pitch", "60",
            "--instrument", "guitar_acoustic_009:0.999,brass_acoustic_001:0.001",
            "guitar_acoustic_009:0.998,brass_acoustic_001:0.002-060-100"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "two different notes would both be written" in err, err
    assert not out.exists() or not list(out.glob("*.wav"))
