"""A batch's gradient as shards side by side (``--shards``): the same gradient, deterministic,
kept on resume."""

from __future__ import annotations

import signal
import subprocess
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from train_helpers import child_env, run_cli, sing_cmd, tensors, train_args

from sing.errors import SingError
from sing.models import SING, SingConfig
from sing.models import frames as frames_mod
from sing.training.checkpoint import load_checkpoint
from sing.training.losses import relative_wav_mse, stage_loss
from sing.training.shards import ShardedGradient, default_shards, shard_slices, single_threaded
from sing.training.trainer import Trainer


@pytest.mark.parametrize(("n", "k", "sizes"), [(16, 2, [8, 8]), (5, 2, [3, 2]), (7, 3, [3, 2, 2]),
                                               (2, 4, [1, 1]), (1, 1, [1])])
def test_shard_slices_cover_the_batch_in_order(n, k, sizes):
    slices = shard_slices(n, k)
    assert [s.stop - s.start for s in slices] == sizes
    assert [i for s in slices for i in range(s.start, s.stop)] == list(range(n))
    with pytest.raises(ValueError):
        shard_slices(0, 2)


def _model_and_batch(vocabulary, n: int = 5):
    torch.manual_seed(0)
    config = SingConfig.for_vocabulary(vocabulary, "tiny")
    model = SING(config, vocabulary)
    g = torch.Generator().manual_seed(1)
    wav = 0.3 * torch.randn(n, vocabulary.note_length, generator=g)
    symbols = [torch.randint(0, 3, (n,), generator=g),
               torch.randint(vocabulary.pitch_min, vocabulary.pitch_max + 1, (n,), generator=g),
               torch.randint(0, 5, (n,), generator=g)]
    return model, frames_mod.loss_target(wav, config), symbols


def _gradients(model, shards: int, loss, n: int) -> tuple[float, list[torch.Tensor]]:
    params = list(model.parameters())
    with ShardedGradient(shards) as sharded, single_threaded(shards > 1):
        value = sharded.gradients(loss, n, params, extra=lambda: params[0].pow(2).sum())
    grads = [p.grad.clone() for p in params]
    return float(value), grads


@pytest.mark.parametrize("shards", [2, 3])
def test_sharded_gradient_is_the_batch_gradient_and_deterministic(vocabulary, shards):
    model, target, symbols = _model_and_batch(vocabulary)

    def loss(notes: slice) -> torch.Tensor:
        out = model(*(s[notes] for s in symbols), strip=False)
        return stage_loss(out, target[notes], "spectral", "sing")
    n = target.shape[0]
    value1, whole = _gradients(model, 1, loss, n)
    value, sharded = _gradients(model, shards, loss, n)
    again_value, again = _gradients(model, shards, loss, n)
    assert value == pytest.approx(value1, rel=1e-5)
    assert again_value == value
    for a, b, c in zip(whole, sharded, again, strict=True):
        assert torch.equal(b, c)  # the same shards, the same bits
        scale = a.abs().max().item() + 1e-12
        assert (a - b).abs().max().item() <= 1e-4 * scale
    assert any(g.abs().max() > 0 for g in sharded)


def test_shards_of_the_relative_waveform_loss_add_up_to_the_batch_loss():
    """Stage 1's anchor divides by the batch's target power: its shards, weighted by their
    notes and given that power, add up to the batch's loss (NumPy float64 reference)."""
    rng = np.random.default_rng(0)
    out, tgt = rng.normal(size=(7, 300)), 0.5 * rng.normal(size=(7, 300))
    reference = np.mean((out - tgt) ** 2) / (np.mean(tgt ** 2) + 1e-8)
    o, t = torch.from_numpy(out), torch.from_numpy(tgt)
    power = t.pow(2).mean()
    shards = sum(relative_wav_mse(o[s], t[s], power) * (s.stop - s.start) / 7
                 for s in shard_slices(7, 3))
    assert float(relative_wav_mse(o, t)) == pytest.approx(reference, rel=1e-12)
    assert float(shards) == pytest.approx(reference, rel=1e-12)
    # without the batch's power a shard's loss is its own ratio, and the sum is not the loss
    alone = sum(relative_wav_mse(o[s], t[s]) * (s.stop - s.start) / 7
                for s in shard_slices(7, 3))
    assert abs(float(alone) - reference) > 1e-6 * reference


def test_a_failing_shard_raises_in_the_caller(vocabulary):
    model, target, symbols = _model_and_batch(vocabulary, n=4)

    def loss(notes: slice) -> torch.Tensor:
        if notes.start > 0:
            raise RuntimeError("shard failed")
        return model(*(s[notes] for s in symbols), strip=False).pow(2).mean()

    with ShardedGradient(2) as sharded, pytest.raises(RuntimeError, match="shard failed"):
        sharded.gradients(loss, 4, list(model.parameters()))


def test_default_shards_follow_the_threads_within_the_gradient_memory():
    assert default_shards(2, 20 << 20) == 2  # small: one a thread
    assert default_shards(32, 250 << 20) == 4  # paper-sized on a big CPU: 4 x 250 MB < 1 GiB
    assert default_shards(32, 2 << 30) == 1  # never 0
    assert default_shards(1, 1) == 1
    assert default_shards(8, 100, memory=300) == 3


def _resolve(shards, kept=0, distributed=False, device="cpu"):
    model = torch.nn.Linear(4, 4)
    fake = SimpleNamespace(config=SimpleNamespace(shards=shards), sing=model, autoencoder=model,
                           position=SimpleNamespace(shards=kept),
                           info=SimpleNamespace(distributed=distributed, world_size=2,
                                                is_main=True),
                           device=torch.device(device))
    return Trainer._resolve_shards(fake)


def test_shards_default_to_the_threads_and_keep_the_checkpoints():
    threads = torch.get_num_threads()
    assert _resolve(None) == threads
    assert _resolve(None, kept=3) == 3  # a resumed run goes on as it was computed
    assert _resolve(2, kept=3) == 2
    assert _resolve(None, distributed=True) == 1
    assert _resolve(None, device="cuda") == 1
    with pytest.raises(SingError, match="--shards 2 cannot be combined with torchrun"):
        _resolve(2, distributed=True)


def test_sharded_run_resumes_bit_identically_with_its_shards(gm_dataset, tmp_path):
    """A ``--shards 2`` run killed after a few checkpoints and resumed WITHOUT ``--shards``
    (one CPU thread: the default would be 1) goes on as 2 shards and ends bit for bit where an
    uninterrupted run ends."""
    stages = ("--stages", "ae,sing", "--checkpoint-every", "0")
    reference = tmp_path / "reference"
    assert run_cli(*train_args(gm_dataset, reference, *stages, "--shards", "2", epochs=1)) == 0
    assert load_checkpoint(reference / "checkpoint.pt")["shards"] == 2

    out = tmp_path / "killed"
    first = sing_cmd(*train_args(gm_dataset, out, *stages, "--shards", "2", epochs=1))
    proc = subprocess.Popen(first, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=child_env())
    ckpt = out / "checkpoint.pt"
    while proc.poll() is None and not (ckpt.exists() and load_checkpoint(ckpt)["step"] >= 1):
        time.sleep(0.01)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = subprocess.run(sing_cmd(*train_args(gm_dataset, out, *stages, epochs=1)),
                           capture_output=True, text=True, env=child_env(), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert killed, "the first run ended before it could be killed"
    assert load_checkpoint(ckpt)["shards"] == 2
    ref, got = tensors(reference / "model.safetensors"), tensors(out / "model.safetensors")
    assert ref.keys() == got.keys()
    for key in ref:
        assert torch.equal(ref[key], got[key]), f"{key} differs after resume"
