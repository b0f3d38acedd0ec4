"""The model the package ships (issue 9): what the file is, that it plays in tune, and `sing
render` of the bundled piece with no --model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from safetensors import safe_open

import sing.api
import sing.pretrained
from sing.cli import main
from sing.evaluation.pitch import measure_pitch
from sing.midi.pieces import CANON
from sing.models.io import read_info
from sing.recipes.gm_model import MAX_SHIPPED_BYTES

SHIPPED = sing.pretrained.SHIPPED_MODEL


def test_the_package_ships_a_float16_general_midi_model():
    assert SHIPPED.is_file(), "the package ships sing/pretrained/gm.safetensors"
    assert SHIPPED.stat().st_size <= MAX_SHIPPED_BYTES
    info = read_info(SHIPPED)
    assert info.kind == "sing"
    # every melodic GM program is an instrument, named after its program number
    programs = sorted(int(name.rsplit("_", 1)[1]) for name in info.vocabulary.instruments)
    assert programs == list(range(128))
    assert (info.vocabulary.pitch_min, info.vocabulary.pitch_max) == (24, 96)
    assert sorted(info.vocabulary.velocities) == [25, 50, 75, 100, 127]
    with safe_open(str(SHIPPED), framework="pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert dtypes == {"F16"}
    # what made it, and under which licence its training notes were rendered
    recipe = info.recipe
    assert recipe["hold"] == info.vocabulary.extra["hold"] == 0.75
    assert recipe["soundfont"]["name"] == "FluidR3_GM" and recipe["soundfont"]["licence"] == "MIT"
    assert "Frank Wen" in recipe["licence"]
    command = recipe["gm_model"]["command"]
    assert re.match(r"sing experiment gm-model --out [\w.-]+ --preset small --programs all "
                    r"--pitches 24-96 --duration 1 --hold 0.75 --epochs 4,3,4 ", command)
    assert command.endswith(" --install")
    assert recipe["gm_model"]["data"]["split"]["train"] > 30000
    heldout = recipe["heldout"]["overall"]
    assert set(heldout) == {"sing", "resample", "ground_truth"}
    assert 0 < heldout["resample"]["spectral_l1"] < heldout["sing"]["spectral_l1"] < 0.2
    assert recipe["gm_model"]["training"]["cpu_s"] > 0
    # no folder of the machine that trained it (the SoundFont's Debian path aside)
    text = json.dumps({k: v for k, v in recipe.items() if k != "soundfont"})
    assert "/work/" not in text and "/home/" not in text and "/tmp/" not in text


#: Training notes of six families (MIDI pitch 48-72, velocity 100).
IN_TUNE = [("keyboard_acoustic_000", 60), ("guitar_acoustic_024", 55),
           ("string_acoustic_040", 67), ("brass_acoustic_056", 60), ("reed_acoustic_065", 62),
           ("flute_acoustic_073", 72)]


def test_the_shipped_model_plays_in_tune():
    model = sing.api.load_model()
    wavs = sing.api.synthesize_batch(model, [(i, p, 100) for i, p in IN_TUNE])
    assert wavs.shape == (len(IN_TUNE), 16000)
    cents = {}
    for (instrument, pitch), wav in zip(IN_TUNE, wavs.numpy(), strict=True):
        assert np.sqrt(np.mean(wav ** 2)) > 0.01, instrument  # not silence
        cents[instrument] = measure_pitch(wav, 16000, pitch)
    in_tune = [name for name, result in cents.items() if result.correct]
    assert len(in_tune) >= len(IN_TUNE) - 1, cents


def test_render_the_bundled_piece_with_no_model(tmp_path: Path):
    out = tmp_path / "canon.wav"
    assert main(["render", str(CANON), "--out", str(out)]) == 0
    wav, rate = sf.read(out, dtype="float64")
    assert rate == 16000 and sf.info(out).subtype == "PCM_16"
    assert 52.5 <= len(wav) / rate < 56
    peak = np.abs(wav).max()
    assert 0.85 <= peak <= 10 ** (-1 / 20) + 1e-4  # -1 dBFS, no clipping
    # it sounds in D major: the loudest pitch classes of the mix are in the key
    spectrum = np.abs(np.fft.rfft(wav)) ** 2
    freqs = np.fft.rfftfreq(len(wav), 1 / rate)
    band = (freqs > 60) & (freqs < 2000)
    classes = np.round(12 * np.log2(freqs[band] / 440.0)).astype(int) % 12  # 0 = A
    chroma = np.bincount(classes, weights=spectrum[band], minlength=12)
    d_major = {5, 7, 9, 10, 0, 2, 4}  # D E F# G A B C# (semitones from A)
    top = set(np.argsort(chroma)[-4:].tolist())
    assert top <= d_major, (top, chroma)


@pytest.mark.parametrize("argv", [["info"]])
def test_sing_info_shows_the_shipped_model(argv: list[str], capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert str(SHIPPED) in out and "FluidR3_GM" in out
