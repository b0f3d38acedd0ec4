"""The parts of training: sampler, checkpoint, metrics against a float64 NumPy reference,
the metrics log and the curves."""

from __future__ import annotations

import fractions
import random

import numpy as np
import pytest
import torch

from sing.errors import SingError
from sing.training.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from sing.training.curves import plot_metrics
from sing.training.metrics import MetricsLog, read_metrics
from sing.training.sampler import ResumableBatchSampler, epoch_order, num_batches
from sing.training.validation import evaluate_losses, per_note_metrics


def test_sampler_shards_global_batches_and_resumes():
    order = epoch_order(11, seed=5, epoch=2)
    assert sorted(order) == list(range(11))
    assert order == epoch_order(11, seed=5, epoch=2) != epoch_order(11, seed=5, epoch=3)
    assert num_batches(11, 4, world_size=1) == 3  # 4 + 4 + 3
    assert num_batches(9, 4, world_size=2) == 2  # a last batch of 1 note cannot feed 2 ranks
    full = list(ResumableBatchSampler(order, 4))
    ranks = [list(ResumableBatchSampler(order, 4, rank=r, world_size=2)) for r in range(2)]
    for b, batch in enumerate(full):
        assert sorted(ranks[0][b] + ranks[1][b]) == sorted(batch)  # global batch kept
    assert list(ResumableBatchSampler(order, 4, start=2)) == full[2:]
    assert len(ResumableBatchSampler(order, 4, start=1)) == 2


def test_rng_state_round_trip_through_a_checkpoint(tmp_path):
    torch.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    save_checkpoint(tmp_path / "c.pt", {"rng": capture_rng_state()})
    expected = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_state(load_checkpoint(tmp_path / "c.pt")["rng"])
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], got[0])
    assert np.array_equal(expected[1], got[1]) and expected[2] == got[2]


def test_checkpoint_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    # an arbitrary class instance: loading with weights_only must refuse to build it
    torch.save({"format": 1, "x": fractions.Fraction(1, 3)}, path)
    with pytest.raises(SingError, match=r"damaged or not a sing checkpoint \(it cannot be read"):
        load_checkpoint(path)


def _log_power_reference(x: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """log(1 + |STFT|^2), periodic Hann, no centring, float64: [B, F, N]."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = 1 + (x.shape[-1] - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.fft.rfft(x[:, idx] * window, axis=-1)  # [B, N, F]
    return np.log1p(np.abs(spec) ** 2).transpose(0, 2, 1)


def test_per_note_metrics_match_float64_numpy():
    gen = np.random.default_rng(0)
    out = gen.normal(scale=0.3, size=(3, 4096))
    tgt = gen.normal(scale=0.3, size=(3, 4096))
    ref_spec = _log_power_reference(out) - _log_power_reference(tgt)
    expected = np.stack([
        np.abs(ref_spec).mean((1, 2)), (ref_spec ** 2).mean((1, 2)),
        ((out - tgt) ** 2).mean(1), np.abs(out - tgt).mean(1)], axis=1)
    got = per_note_metrics(torch.from_numpy(out).float(), torch.from_numpy(tgt).float())
    np.testing.assert_allclose(got.double().numpy(), expected, rtol=2e-4, atol=1e-6)


def test_evaluate_losses_on_sing_and_autoencoder(reference_run, gm_dataset):
    from sing.data.nsynth import NSynthDataset
    from sing.models import frames
    from sing.models.io import load_model_file

    valid = NSynthDataset(gm_dataset, split="valid")
    for name in ("model.safetensors", "autoencoder.safetensors"):
        model, _ = load_model_file(reference_run / name)
        got = evaluate_losses(model, valid, batch_size=2, indices=[0, 3, 5])
        assert got["notes"] == 3
        items = [valid[i] for i in (0, 3, 5)]
        wav = torch.stack([it["wav"] for it in items]).double()
        with torch.no_grad():
            if name.startswith("model"):
                sym = [torch.tensor([it[k] for it in items]) for k in
                       ("instrument", "pitch", "velocity")]
                out = model(*sym, strip=False)
            else:
                out = model(wav.float(), strip=False)
        out = out.double().numpy()
        tgt = frames.loss_target(wav, model.config).numpy()
        dspec = _log_power_reference(out) - _log_power_reference(tgt)
        assert got["spectral_l1"] == pytest.approx(np.abs(dspec).mean(), rel=1e-4)
        assert got["spectral_mse"] == pytest.approx((dspec ** 2).mean(), rel=1e-4)
        assert got["wav_mse"] == pytest.approx(((out - tgt) ** 2).mean(), rel=1e-4)
        assert got["wav_l1"] == pytest.approx(np.abs(out - tgt).mean(), rel=1e-4)


def test_metrics_log_and_curves(reference_run, tmp_path):
    log = MetricsLog(tmp_path, [{"stage": "ae", "epoch": 0, "split": "train", "wav_l1": 0.5}])
    log.log({"stage": "ae", "epoch": 1, "split": "train", "wav_l1": 0.25})
    log.close()
    assert [r["wav_l1"] for r in read_metrics(tmp_path)] == [0.5, 0.25]
    png = plot_metrics(reference_run, tmp_path / "curves.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    from train_helpers import run_cli

    assert run_cli("plot", str(reference_run), "-o", str(tmp_path / "cli.png")) == 0
    assert (tmp_path / "cli.png").read_bytes()[:4] == b"\x89PNG"
