"""The stage losses and the stage-1 warm-up that keeps the autoencoder out of silence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sing import dsp
from sing.training.config import DEFAULT_AE_WARMUP, DEFAULT_AE_WAV_WEIGHT, TrainConfig
from sing.training.losses import relative_wav_mse, stage_loss


@pytest.fixture()
def pair() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(4096, dtype=torch.float64)
    target = (0.3 * torch.sin(2 * np.pi * 440 * t / 16000)).repeat(2, 1)
    output = target + 0.01 * torch.randn(2, 4096, generator=g, dtype=torch.float64)
    return output, target


def test_relative_wav_mse_against_numpy(pair):
    output, target = pair
    o, t = output.numpy(), target.numpy()
    expected = np.mean((o - t) ** 2) / (np.mean(t ** 2) + 1e-8)
    assert float(relative_wav_mse(output, target)) == pytest.approx(expected, rel=1e-12)


def test_warmup_then_spectral_plus_anchor(pair):
    output, target = pair
    mse, spec = dsp.wav_mse(output, target), dsp.spectral_loss(output, target)
    anchor = relative_wav_mse(output, target)
    kw = dict(ae_warmup=10, ae_wav_weight=0.5)
    assert torch.equal(stage_loss(output, target, "spectral", "ae", 9, **kw), mse)
    after = stage_loss(output, target, "spectral", "ae", 10, **kw)
    assert float(after) == pytest.approx(float(spec + 0.5 * anchor), rel=1e-12)
    assert float(after) > float(spec)
    # stage 3 never gets the warm-up nor the anchor; the paper's recipe is the plain loss
    assert torch.equal(stage_loss(output, target, "spectral", "sing", 0, **kw), spec)
    assert torch.equal(stage_loss(output, target, "spectral", "ae", 0), spec)
    assert torch.equal(stage_loss(output, target, "wav", "sing", 99, **kw), mse)


def _stage1(config: TrainConfig) -> tuple[int, float]:
    return config.ae_warmup, config.ae_wav_weight


def test_library_and_cli_defaults_and_paper_recipe(tmp_path):
    from sing.cli import build_parser
    from sing.cli.options import config_from_args

    base = dict(data=tmp_path, out=tmp_path)
    assert _stage1(TrainConfig(**base)) == (DEFAULT_AE_WARMUP, DEFAULT_AE_WAV_WEIGHT)
    assert DEFAULT_AE_WARMUP > 0 and DEFAULT_AE_WAV_WEIGHT > 0
    assert _stage1(TrainConfig(**base, paper_recipe=True)) == (0, 0.0)
    assert _stage1(TrainConfig(**base, paper_recipe=True, ae_warmup=50)) == (50, 0.0)  # wins
    # the command line trains the same recipe as the library, field for field
    parser = build_parser()
    for extra in ([], ["--paper-recipe"], ["--paper-recipe", "--ae-warmup", "50"]):
        args = parser.parse_args(["train", "--data", str(tmp_path), "--out", str(tmp_path),
                                  *extra])
        cli = config_from_args(TrainConfig, args)
        lib = TrainConfig(**base, paper_recipe=bool(extra),
                          ae_warmup=50 if "50" in extra else None)
        assert cli == lib


def test_recipe_records_the_options(tmp_path):
    config = TrainConfig(data=tmp_path, out=tmp_path, ae_warmup=7, ae_wav_weight=0.25)
    assert config.recipe()["ae_warmup"] == 7 and config.recipe()["ae_wav_weight"] == 0.25
    assert config.signature()["ae_warmup"] == 7
    paper = TrainConfig(data=tmp_path, out=tmp_path, paper_recipe=True)
    assert "ae_warmup" not in paper.signature()
    with pytest.raises(Exception, match="ae-wav-weight"):
        TrainConfig(data=tmp_path, out=tmp_path, ae_wav_weight=float("inf")).validate()
