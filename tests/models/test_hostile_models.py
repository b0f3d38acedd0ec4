"""Hostile model files (issue 20, items 2 and 3): every metadata value and every tensor is
checked before anything is sized from it; each refusal is one line naming the field or tensor,
exit 2, no traceback, for `sing info`, `sing generate`, `sing render` and sing.api.load_model."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import mido
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

import sing.api
from sing.cli import main
from sing.errors import SingError
from sing.models.io import load_model_file, read_info

EMBEDDING = "generator.instrument_embedding.weight"
Edit = Callable[[dict, dict, dict], None]  # (config, vocabulary, tensors) edited in place


def _hostile(src: Path, dst: Path, edit: Edit, raw: dict[str, str] | None = None) -> Path:
    """A copy of ``src`` with its config, vocabulary and tensors edited, written with
    safetensors directly (nothing of sing checks it on the way)."""
    with safe_open(str(src), "pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    config, vocabulary = json.loads(meta["config"]), json.loads(meta["vocabulary"])
    edit(config, vocabulary, tensors)
    meta["config"], meta["vocabulary"] = json.dumps(config), json.dumps(vocabulary)
    meta.update(raw or {})
    save_file(tensors, str(dst), metadata=meta)
    return dst


def _set(where: str, key: str, value) -> Edit:
    def edit(config: dict, vocabulary: dict, tensors: dict) -> None:
        (config if where == "config" else vocabulary)[key] = value
    return edit


def _many_instruments(config: dict, vocabulary: dict, tensors: dict) -> None:
    vocabulary["instruments"] = [f"inst_{i}" for i in range(202)]
    vocabulary["instrument_ids"] = list(range(202))
    vocabulary["families"] = ["guitar"] * 202


def _many_everywhere(config: dict, vocabulary: dict, tensors: dict) -> None:
    _many_instruments(config, vocabulary, tensors)
    config["num_instruments"] = 202


def _nan(config: dict, vocabulary: dict, tensors: dict) -> None:
    tensors[EMBEDDING][1, 2] = float("nan")


def _inf(config: dict, vocabulary: dict, tensors: dict) -> None:
    tensors["decoder.layers.6.weight"].view(-1)[7] = float("inf")


def _as_int32(config: dict, vocabulary: dict, tensors: dict) -> None:
    tensors[EMBEDDING] = (tensors[EMBEDDING] * 1000).to(torch.int32)


def _hold(value) -> Edit:
    def edit(config: dict, vocabulary: dict, tensors: dict) -> None:
        vocabulary["extra"] = {"hold": value}
    return edit


CASES: dict[str, tuple[Edit, str]] = {
    "202-instruments": (_many_instruments,
                        "vocabulary.instruments: 202 instruments, the config has 3"),
    "202-in-config-too": (_many_everywhere, f"weights do not match its config ({EMBEDDING}: "
                          "(3, 8) in the file, (202, 8) expected)"),
    "pitch-max-500": (_set("vocabulary", "pitch_max", 500),
                      "vocabulary.pitch_max: 500 is outside 0-127"),
    "reversed-pitches": (_set("vocabulary", "pitch_min", 109),
                         "vocabulary.pitch_min: 109 is above pitch_max 108"),
    "rate-0": (_set("vocabulary", "sample_rate", 0),
               "vocabulary.sample_rate: 0 is outside 1000-384000"),
    "rate-1e12": (_set("vocabulary", "sample_rate", 10**12),
                  "vocabulary.sample_rate: 1000000000000 is outside 1000-384000"),
    "rate-disagrees": (_set("vocabulary", "sample_rate", 22050),
                       "vocabulary.sample_rate: 22050 Hz, the config has 16000"),
    "no-velocities": (_set("vocabulary", "velocities", []),
                      "vocabulary.velocities: 0 velocities, the config has 5"),
    "velocity-0": (_set("vocabulary", "velocities", [0, 50, 75, 100, 127]),
                   "vocabulary.velocities: must be a list of integers in 1-127"),
    "hold-infinity": (_hold(float("inf")), "vocabulary.extra.hold: inf s is not in (0, 1]"),
    "hold-negative": (_hold(-1), "vocabulary.extra.hold: -1 s is not in (0, 1]"),
    "note-length-disagrees": (_set("vocabulary", "note_length", 8000),
                              "vocabulary.note_length: 8000 samples, the config has 16000"),
    "pitch-as-text": (_set("vocabulary", "pitch_min", "21"),
                      "vocabulary.pitch_min: must be an integer, not '21'"),
    "path-in-name": (_set("vocabulary", "instruments", ["a", "../../escape", "c"]),
                     "vocabulary.instruments: '../../escape' is not usable in a file name"),
    "channels-1e9": (_set("config", "channels", 10**9),
                     "config.channels: 1000000000 is outside 1-65536"),
    "channels-60000": (_set("config", "channels", 60000),
                       "weights do not match its config (decoder."),
    "bool-as-int": (_set("config", "time_embedding", 1),
                    "config.time_embedding: must be true or false, not 1"),
    "nan-weight": (_nan, f"tensor {EMBEDDING} holds 1 NaN or infinite value(s)"),
    "inf-weight": (_inf, "tensor decoder.layers.6.weight holds 1 NaN or infinite value(s)"),
    "float-as-int32": (_as_int32, f"{EMBEDDING}: stored as I32, F32 / F16 / BF16 expected"),
}


@pytest.fixture
def song(tmp_path: Path) -> Path:
    midi = mido.MidiFile(type=0)
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=100),
                                       mido.Message("note_off", note=60, time=240)]))
    midi.save(str(tmp_path / "song.mid"))
    return tmp_path / "song.mid"


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_model_is_one_line_everywhere(case: str, tmp_path: Path, tiny_model_file: Path,
                                              song: Path, capsys):
    edit, message = CASES[case]
    path = _hostile(tiny_model_file, tmp_path / f"{case}.safetensors", edit)
    with pytest.raises(SingError) as err:
        sing.api.load_model(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value), err.value
    assert "\n" not in str(err.value)
    commands = {
        "info": ["info", str(path)],
        "generate": ["generate", "--model", str(path), "guitar_acoustic_009-060-100",
                     "--out", str(tmp_path / "gen")],
        "render": ["render", str(song), "--model", str(path), "--out",
                   str(tmp_path / "song.wav"),
                   "--instrument", "guitar_acoustic_009"],
    }
    for name, argv in commands.items():
        started = time.perf_counter()
        assert main(argv) == 2, name
        err_text = capsys.readouterr().err
        assert err_text == f"sing: error: {path}: {err_text.split(': ', 3)[-1]}", err_text
        assert message in err_text and err_text.count("\n") == 1 and "Traceback" not in err_text
        assert time.perf_counter() - started < 10, name  # nothing was sized from the file
    assert not (tmp_path / "gen").exists() and not (tmp_path / "song.wav").exists()


def test_the_field_named_is_the_one_that_is_wrong(tmp_path: Path, tiny_model_file: Path):
    """The validated metadata equals what was saved, and a valid file still loads."""
    info = read_info(tiny_model_file, check_values=True)
    model, again = load_model_file(tiny_model_file)
    assert info.vocabulary == again.vocabulary == model.vocabulary
    assert info.config == model.config and info.vocabulary.pitch_max == 108
    for key, value, message in [
        ("format_version", "-1", "bad format_version"),
        ("recipe", json.dumps({"hold": float("inf")}), "recipe.hold: inf s is not in (0, 1]"),
        ("recipe", json.dumps({"data": {"hold": 1e9}}),
         "recipe.data.hold: 1000000000.0 s is not in (0, 1]"),
        ("training_data", "[]", "training_data: needs a fingerprint and a note_length"),
        ("config", "[1, 2]", "config: must be a JSON object"),
    ]:
        path = _hostile(tiny_model_file, tmp_path / "m.safetensors", lambda *a: None,
                        {key: value})
        with pytest.raises(SingError, match=message.replace("(", r"\(").replace(")", r"\)")):
            read_info(path)


def test_a_hold_the_model_gives_is_used(tmp_path: Path, tiny_model_file: Path):
    from sing.midi.render import model_hold

    path = _hostile(tiny_model_file, tmp_path / "h.safetensors", _hold(0.25))
    model = sing.api.load_model(path)
    assert model_hold(model) == 4000  # 0.25 s at 16 kHz


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_finite_check_agrees_with_numpy_elementwise(dtype):
    """validation._all_finite (one min/max reduction) against NumPy's element-wise isfinite in
    float64, on tensors with a NaN, an infinity of either sign, or neither, anywhere."""
    import numpy as np
    import torch

    from sing.models.validation import _all_finite

    rng = np.random.default_rng(0)
    for trial in range(40):
        values = rng.standard_normal(int(rng.integers(1, 300))) * 10.0 ** rng.integers(-3, 4)
        special = trial % 4
        if special:
            values[int(rng.integers(len(values)))] = (np.nan, np.inf, -np.inf)[special - 1]
        want = bool(np.isfinite(values).all())
        tensor = torch.from_numpy(values).to(getattr(torch, dtype))
        assert _all_finite(tensor) is want
        if dtype != "bfloat16":
            assert _all_finite(tensor.numpy()) is want
    assert _all_finite(torch.zeros(0)) and _all_finite(np.zeros((0, 3)))
