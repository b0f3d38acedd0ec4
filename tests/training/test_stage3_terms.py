"""Stage 3's short-window and noise-floor terms: NumPy references and what each one hears."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sing import dsp
from sing.training.config import TrainConfig
from sing.training.losses import (
    SHORT_RESOLUTIONS,
    floor_loss,
    short_window_loss,
    stage_loss,
)

RATE = 16000


def _numpy_log_power(x: np.ndarray, n_fft: int, hop: int, eps: float) -> np.ndarray:
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    frames = np.stack([x[..., i:i + n_fft] * window
                       for i in range(0, x.shape[-1] - n_fft + 1, hop)], axis=-2)
    power = np.abs(np.fft.rfft(frames, axis=-1)) ** 2
    return np.log(eps + power)


def _numpy_l1(x: np.ndarray, y: np.ndarray, n_fft: int, hop: int, eps: float) -> float:
    return float(np.mean(np.abs(_numpy_log_power(x, n_fft, hop, eps)
                                - _numpy_log_power(y, n_fft, hop, eps))))


def _tone(t: np.ndarray, buzz: float = 0.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + buzz * np.sin(2 * np.pi * 62.5 * t))
    return x + noise * rng.standard_normal(t.shape)


@pytest.fixture()
def pair() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(8192) / RATE
    return _tone(t, buzz=0.3, noise=1e-3, seed=1)[None], _tone(t)[None]


def test_short_window_loss_against_numpy(pair):
    out, ref = pair
    want = np.mean([_numpy_l1(out, ref, n, h, 1.0) for n, h in SHORT_RESOLUTIONS])
    got = short_window_loss(torch.from_numpy(out), torch.from_numpy(ref))
    assert float(got) == pytest.approx(want, rel=1e-9)


def test_floor_loss_against_numpy(pair):
    out, ref = pair
    want = _numpy_l1(out, ref, 1024, 256, 1e-3)
    assert float(floor_loss(torch.from_numpy(out), torch.from_numpy(ref))) == pytest.approx(
        want, rel=1e-9)


def test_each_term_grows_with_what_it_is_for():
    t = np.arange(16000) / RATE
    ref = torch.from_numpy(_tone(t)[None])
    assert float(short_window_loss(ref, ref)) == 0 and float(floor_loss(ref, ref)) == 0
    # the 62.5 Hz pulsing: the short-window term grows with its depth
    buzz = [float(short_window_loss(torch.from_numpy(_tone(t, buzz=d)[None]), ref))
            for d in (0.02, 0.1, 0.3)]
    assert 0 < buzz[0] < buzz[1] < buzz[2]
    # hiss 60 dB under the tone: the small epsilon sees it, eps 1 hardly does
    hissed = torch.from_numpy(_tone(t, noise=3e-4, seed=2)[None])
    assert float(floor_loss(hissed, ref)) > 100 * float(dsp.spectral_loss(hissed, ref))


def test_terms_only_at_stage_3_and_off_by_default(pair, tmp_path):
    out, ref = (torch.from_numpy(a) for a in pair)
    base = dsp.spectral_loss(out, ref)
    kw = dict(short_window_weight=0.5, floor_weight=0.25, floor_eps=1e-3)
    got = stage_loss(out, ref, "spectral", "sing", **kw)
    want = base + 0.5 * short_window_loss(out, ref) + 0.25 * floor_loss(out, ref)
    assert float(got) == pytest.approx(float(want), rel=1e-12)
    assert torch.equal(stage_loss(out, ref, "spectral", "ae", 10**6, **kw), base)
    assert torch.equal(stage_loss(out, ref, "spectral", "sing"), base)
    config = TrainConfig(data=tmp_path, out=tmp_path, short_window_weight=1.0, floor_weight=0.1)
    assert config.recipe()["short_window_weight"] == 1.0 and config.recipe()["floor_eps"] == 1e-3
    assert config.signature()["floor_weight"] == 0.1
    paper = TrainConfig(data=tmp_path, out=tmp_path, paper_recipe=True).signature()
    assert "short_window_weight" not in paper and "floor_weight" not in paper
    with pytest.raises(Exception, match="floor-eps"):
        TrainConfig(data=tmp_path, out=tmp_path, floor_eps=0.0).validate()
