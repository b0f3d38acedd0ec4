"""Scale-out: the same command under `torchrun --nproc_per_node 2` (DDP, gloo on CPU) gives
the same losses as one process, with --batch-size the global batch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from train_helpers import child_env, run_cli, tensors, train_args


def _records(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_match_one(gm_dataset, tmp_path):
    # 6 notes, batch 4: global batches of 4 and 2 notes, split 2+2 and 1+1 over the ranks
    extra = ("--max-notes", "6", "--checkpoint-every", "0")
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(*train_args(gm_dataset, one, *extra, epochs=1)) == 0
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "sing", *train_args(gm_dataset, two, *extra, epochs=1)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=child_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("model.safetensors") == 1  # only rank 0 talks and writes
    assert "terminate called" not in proc.stderr
    ref, got = _records(one), _records(two)
    assert [(r["stage"], r["split"]) for r in ref] == [(r["stage"], r["split"]) for r in got]
    for a, b in zip(ref, got, strict=True):
        for key in ("train_loss", "spectral_l1", "spectral_mse", "wav_mse", "wav_l1"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-9), (a["stage"], key)
        assert a.get("optimizer_steps") == b.get("optimizer_steps")
        assert a["notes"] == b["notes"]
    w1, w2 = tensors(one / "model.safetensors"), tensors(two / "model.safetensors")
    for key in w1:
        torch.testing.assert_close(w2[key], w1[key], rtol=1e-4, atol=1e-6)
    assert not list(two.glob(".tmp-*"))
