"""The pitch-smoothness option of stages 2 and 3: the roughness against a NumPy reference, and
training with it makes the pitch embedding smoother where the plain recipe does not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sing.cli import main
from sing.errors import SingError
from sing.models.io import load_model_file
from sing.training.config import TrainConfig
from sing.training.losses import pitch_roughness
from sing.training.trainer import train


def roughness_reference(table: np.ndarray) -> float:
    """sum of squared second differences over the spread around the mean, float64."""
    t = table.astype(np.float64)
    second = np.diff(t, n=2, axis=0)
    return float((second ** 2).sum() / ((t - t.mean(axis=0)) ** 2).sum())


def test_roughness_matches_numpy_and_is_scale_free():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(25, 8))
    value = pitch_roughness(torch.from_numpy(table))
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(roughness_reference(table), rel=1e-12)
    assert 4 < float(value) < 8  # independent rows: about 6
    scaled = pitch_roughness(torch.from_numpy(table * 1e-3))
    assert float(scaled) == pytest.approx(float(value), rel=1e-6)
    line = np.outer(np.arange(25.0), rng.normal(size=8)) + rng.normal(size=8)
    assert float(pitch_roughness(torch.from_numpy(line))) < 1e-20
    # the gradient flows to every row
    t = torch.from_numpy(table).requires_grad_()
    pitch_roughness(t).backward()
    assert (t.grad.abs().sum(1) > 0).all()


def _sing_run(data: Path, out: Path, weight: float) -> Path:
    return train(TrainConfig(data=data, out=out, preset="tiny", stages=("sing",),
                             epochs_sing=2, batch_size=8, lr=3e-2, seed=0, eval_notes=0,
                             device="cpu", progress=False, pitch_smoothness=weight))


def test_training_with_the_option_smooths_the_pitch_embedding(gm_dataset: Path,
                                                             tmp_path: Path):
    torch.set_num_threads(1)
    plain, _ = load_model_file(_sing_run(gm_dataset, tmp_path / "plain", 0.0))
    smooth, info = load_model_file(_sing_run(gm_dataset, tmp_path / "smooth", 5.0))
    v = info.vocabulary
    rows = slice(v.pitch_min, v.pitch_max + 1)
    plain_r = float(pitch_roughness(plain.generator.pitch_embedding.weight[rows].detach()))
    smooth_r = float(pitch_roughness(smooth.generator.pitch_embedding.weight[rows].detach()))
    assert plain_r > 2, plain_r  # the plain recipe leaves the rows about as rough as at init
    assert smooth_r < 0.5 * plain_r, (smooth_r, plain_r)
    assert info.recipe["pitch_smoothness"] == 5.0


def test_option_is_checked_and_signed(tmp_path: Path, capsys):
    with pytest.raises(SingError, match="--pitch-smoothness must be a finite number >= 0"):
        TrainConfig(data=tmp_path, out=tmp_path / "r", pitch_smoothness=float("nan")).validate()
    plain = TrainConfig(data=tmp_path, out=tmp_path / "r").signature()
    assert "pitch_smoothness" not in plain  # older checkpoints stay resumable
    assert TrainConfig(data=tmp_path, out=tmp_path / "r",
                       pitch_smoothness=0.01).signature()["pitch_smoothness"] == 0.01
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "r"),
                 "--pitch-smoothness", "-1"]) == 2
    assert "--pitch-smoothness" in capsys.readouterr().err
