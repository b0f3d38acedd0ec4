"""Model files: bit-exact round trips, and one clear line for every bad file."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from sing.errors import SingError
from sing.models import SING, Autoencoder, SingConfig
from sing.models.io import FORMAT_VERSION, load_model_file, read_info, save_model


def _notes():
    return torch.tensor([0, 2]), torch.tensor([60, 100]), torch.tensor([1, 4])


def test_sing_round_trip_is_bit_exact(tiny_model_file: Path, vocabulary):
    torch.manual_seed(0)
    original = SING(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary)
    model, info = load_model_file(tiny_model_file)
    assert isinstance(model, SING) and info.kind == "sing"
    assert info.vocabulary == vocabulary and model.vocabulary == vocabulary
    assert info.config == original.config
    assert info.recipe == {"stage": "untrained"}
    assert info.format_version == FORMAT_VERSION
    assert info.num_parameters == sum(p.numel() for p in original.parameters())
    assert info.size_bytes == tiny_model_file.stat().st_size
    loaded = model.state_dict()
    assert list(loaded) == list(original.state_dict())
    for name, tensor in original.state_dict().items():
        assert torch.equal(tensor, loaded[name]), name
    with torch.no_grad():
        assert torch.equal(original.eval()(*_notes()), model(*_notes()))


def test_autoencoder_round_trip_and_kind_check(tmp_path: Path, vocabulary):
    torch.manual_seed(0)
    vocabulary = dataclasses.replace(vocabulary, note_length=4096)
    ae = Autoencoder(SingConfig.for_vocabulary(vocabulary, "tiny"))
    path = save_model(tmp_path / "ae.safetensors", ae, vocabulary, {"stage": 1})
    loaded, info = load_model_file(path, kind="autoencoder")
    assert info.kind == "autoencoder"
    wav = torch.randn(1, 4096)
    with torch.no_grad():
        assert torch.equal(ae(wav), loaded(wav))
    with pytest.raises(SingError, match=r"ae\.safetensors: is a autoencoder model file, a sing"):
        load_model_file(path, kind="sing")


def test_save_is_atomic_and_refuses_a_mismatched_vocabulary(tmp_path: Path, vocabulary):
    model = SING(SingConfig.preset("tiny", num_instruments=5))
    with pytest.raises(ValueError, match="vocabulary has 3 instruments, the model 5"):
        save_model(tmp_path / "m.safetensors", model, vocabulary)
    with pytest.raises(ValueError, match="vocabulary notes have 16000 samples, the model 64000"):
        save_model(tmp_path / "m.safetensors", SING(SingConfig.preset("tiny", num_instruments=3)),
                   vocabulary)
    assert list(tmp_path.iterdir()) == []


def _bad(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _rewrite_metadata(src: Path, dst: Path, **changes: str) -> Path:
    """Copy a model file with its metadata changed (weights kept)."""
    from safetensors import safe_open

    with safe_open(str(src), "pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    meta.update(changes)
    save_file(tensors, str(dst), metadata=meta)
    return dst


def test_bad_model_files(tmp_path: Path, tiny_model_file: Path):
    data = tiny_model_file.read_bytes()
    cases = {
        "missing.safetensors": (None, "no such model file"),
        "empty.safetensors": (b"", "too short to be safetensors"),
        "text.safetensors": (b"hello world, this is not a model", "not safetensors"),
        "pickle.safetensors": (None, "not safetensors"),
        "cut.safetensors": (data[: len(data) // 2], "truncated model file"),
        "header_cut.safetensors": (data[:40], "truncated model file"),
    }
    torch.save({"w": torch.zeros(3)}, tmp_path / "pickle.safetensors")
    for name, (content, message) in cases.items():
        path = tmp_path / name if content is None else _bad(tmp_path, name, content)
        with pytest.raises(SingError, match=message) as err:
            load_model_file(path)
        assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)

    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(plain))
    with pytest.raises(SingError, match="safetensors without sing metadata"):
        load_model_file(plain)
    newer = _rewrite_metadata(
        tiny_model_file, tmp_path / "newer.safetensors", format_version=str(FORMAT_VERSION + 1)
    )
    with pytest.raises(SingError, match="written by a newer sing .* upgrade sing"):
        load_model_file(newer)
    kind = _rewrite_metadata(tiny_model_file, tmp_path / "kind.safetensors", kind="wavenet")
    with pytest.raises(SingError, match="unknown model kind 'wavenet'"):
        read_info(kind)
    config = json.loads(read_info(tiny_model_file).config.to_json())
    config["hidden_size"] = 32
    other = _rewrite_metadata(
        tiny_model_file, tmp_path / "other.safetensors", config=json.dumps(config)
    )
    with pytest.raises(SingError, match="weights do not match its config"):
        load_model_file(other)
    broken = _rewrite_metadata(tiny_model_file, tmp_path / "broken.safetensors", vocabulary="{")
    with pytest.raises(SingError, match="corrupt model metadata"):
        load_model_file(broken)
    with pytest.raises(SingError, match="is a folder"):
        load_model_file(tmp_path)


def test_huge_header_length_is_foreign(tmp_path: Path):
    path = _bad(tmp_path, "huge.bin", struct.pack("<Q", 2**40) + b"{}")
    with pytest.raises(SingError, match="not safetensors"):
        read_info(path)
