"""The shipped model: used when no model is named; one clear line when the install has none."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import sing.api
import sing.pretrained
from sing.cli import main
from sing.errors import SingError


@pytest.fixture
def no_shipped_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pretrained" / "gm.safetensors"
    monkeypatch.setattr(sing.pretrained, "SHIPPED_MODEL", path)
    return path


def test_shipped_model_location_is_package_data():
    assert sing.pretrained.SHIPPED_MODEL.parent == Path(sing.pretrained.__file__).parent
    assert sing.pretrained.SHIPPED_MODEL.name == "gm.safetensors"
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"pretrained/*.safetensors"' in pyproject


def test_no_shipped_model_is_one_line(no_shipped_model: Path, capsys, tmp_path: Path):
    with pytest.raises(SingError, match="no shipped model in this install; pass --model FILE"):
        sing.api.load_model()
    for argv in (["info"], ["generate", "keyboard_acoustic_000-060-100", "--out",
                            str(tmp_path / "out")]):
        assert main(argv) == 2
        assert capsys.readouterr().err == (
            "sing: error: no shipped model in this install; pass --model FILE\n"
        )
    assert not (tmp_path / "out").exists()


def test_shipped_model_is_used_when_no_model_is_named(
    no_shipped_model: Path, tiny_model_file: Path, tmp_path: Path, capsys
):
    no_shipped_model.parent.mkdir()
    shutil.copy(tiny_model_file, no_shipped_model)
    model = sing.api.load_model()
    assert model.info.path == no_shipped_model
    want = sing.api.load_model(tiny_model_file)
    for a, b in zip(model.parameters(), want.parameters(), strict=True):
        assert torch.equal(a, b)
    assert main(["info"]) == 0
    assert str(no_shipped_model) in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["generate", "guitar_acoustic_009-060-100", "--out", str(out)]) == 0
    assert (out / "guitar_acoustic_009-060-100.wav").is_file()
