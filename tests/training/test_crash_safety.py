"""Crash safety: SIGKILL + resume is bit-identical, SIGINT/SIGTERM checkpoint, NaN guard,
full disk while checkpointing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import torch
from train_helpers import child_env, run_cli, sing_cmd, tensors, train_args

from sing.training.checkpoint import load_checkpoint


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _wait_checkpoints(proc: subprocess.Popen, ckpt: Path, count: int) -> bool:
    """Wait until ``proc`` has written ``ckpt`` ``count + 1`` times (False if it ended)."""
    seen, last = 0, _stamp(ckpt)
    while proc.poll() is None:
        stamp = _stamp(ckpt)
        if stamp is not None and stamp != last:
            seen, last = seen + 1, stamp
            if seen > count:
                return True
        time.sleep(0.002)
    return False


def _records(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    timings = ("notes_per_s", "train_s", "cpu_s")  # wall and CPU clocks differ between runs
    return [{k: v for k, v in json.loads(x).items() if k not in timings} for x in lines]


def test_sigkill_and_resume_is_bit_identical(gm_dataset, reference_run, tmp_path):
    out = tmp_path / "killed"
    args = train_args(gm_dataset, out, "--checkpoint-every", "0")
    rng = random.Random(7)
    kills, stages = 0, set()
    for attempt in range(12):
        proc = subprocess.Popen(sing_cmd(*args), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=child_env())
        # kill after the 4th, 5th, 6th, 4th new checkpoint: in stage ae, seq, sing, sing
        if attempt < 4 and _wait_checkpoints(proc, out / "checkpoint.pt", (3, 4, 5, 3)[attempt]):
            time.sleep(rng.uniform(0, 0.08))  # land anywhere inside the next step
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                proc.wait()
                stages.add(load_checkpoint(out / "checkpoint.pt")["stage"])
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, err.decode()
    assert proc.returncode == 0, err.decode()
    assert kills >= 3 and len(stages) >= 2, (kills, stages)  # killed in several stages
    for name in ("autoencoder.safetensors", "model.safetensors"):
        ref, got = tensors(reference_run / name), tensors(out / name)
        assert ref.keys() == got.keys()
        for key in ref:
            assert torch.equal(ref[key], got[key]), f"{name}:{key} differs after resume"
    assert _records(out) == _records(reference_run)


def _signal_after_checkpoint(ckpt: Path, sig: int) -> threading.Thread:
    """A thread that sends ``sig`` to this process once ``ckpt`` has been (re)written."""
    start = _stamp(ckpt)

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stamp = _stamp(ckpt)
            if stamp is not None and stamp != start:
                os.kill(os.getpid(), sig)
                return
            time.sleep(0.002)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_sigint_and_sigterm_checkpoint_and_exit_cleanly(gm_dataset, reference_run, tmp_path,
                                                        capsys):
    out = tmp_path / "stopped"
    args = train_args(gm_dataset, out, "--checkpoint-every", "60")
    positions = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        watcher = _signal_after_checkpoint(out / "checkpoint.pt", sig)
        code = run_cli(*args)
        watcher.join()
        captured = capsys.readouterr()
        assert code == 128 + sig, captured.err
        assert "checkpoint written" in captured.out and "Traceback" not in captured.err
        state = load_checkpoint(out / "checkpoint.pt")
        positions.append((state["stage"], state["epoch"], state["step"]))
        assert not state["done"]
    assert positions[0] < positions[1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    assert run_cli(*args) == 0
    ref, got = tensors(reference_run / "model.safetensors"), tensors(out / "model.safetensors")
    assert all(torch.equal(ref[k], got[k]) for k in ref)


def _nan_after(monkeypatch, good_steps: int) -> None:
    """Make the training loss NaN after ``good_steps`` finite steps (``--lr inf`` is refused
    by the command line now, so a NaN has to be injected)."""
    from sing.training.trainer import Trainer

    real = Trainer._wave_loss
    calls = [0]

    def loss(self, *args, **kwargs):
        calls[0] += 1
        value = real(self, *args, **kwargs)
        return value if calls[0] <= good_steps else value * float("nan")

    monkeypatch.setattr(Trainer, "_wave_loss", loss)


def test_nan_loss_stops_with_one_line_and_keeps_checkpoint(gm_dataset, tmp_path, capsys,
                                                            monkeypatch):
    out = tmp_path / "nan"
    _nan_after(monkeypatch, 2)
    code = run_cli(*train_args(gm_dataset, out, "--stages", "ae", "--checkpoint-every", "0"))
    err = capsys.readouterr().err
    assert code == 2
    lines = [x for x in err.strip().splitlines() if x.startswith("sing: error")]
    assert len(lines) == 1 and "Traceback" not in err
    assert "loss became NaN at epoch 2, batch 1" in lines[0]  # 8 notes: 2 batches an epoch
    assert "last good checkpoint is kept" in lines[0]
    state = load_checkpoint(out / "checkpoint.pt")
    weights = state["models"]["autoencoder"]
    assert (state["epoch"], state["step"]) == (1, 0)  # the good first epoch was checkpointed
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_nan_loss_before_any_checkpoint_does_not_promise_one(gm_dataset, tmp_path, capsys,
                                                             monkeypatch):
    out = tmp_path / "nan0"
    _nan_after(monkeypatch, 0)
    code = run_cli(*train_args(gm_dataset, out, "--stages", "ae", "--checkpoint-every", "60"))
    err = capsys.readouterr().err
    assert code == 2
    line = [x for x in err.strip().splitlines() if x.startswith("sing: error")][0]
    assert "loss became NaN at epoch 1, batch 1" in line
    assert "no checkpoint was written yet" in line and "kept" not in line
    assert not (out / "checkpoint.pt").exists()


def test_full_disk_while_checkpointing_loses_nothing(reference_run, tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes((reference_run / "checkpoint.pt").read_bytes())
    size = ckpt.stat().st_size
    script = textwrap.dedent(f"""
        import resource, signal, torch
        from sing.errors import SingError
        from sing.training.checkpoint import load_checkpoint, save_checkpoint
        state = load_checkpoint({str(ckpt)!r})
        state["models"]["extra"] = {{"big": torch.zeros(4_000_000)}}
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({size} + 1000, {size} + 1000))
        try:
            save_checkpoint({str(ckpt)!r}, state)
        except SingError as err:
            print("ERROR", err)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ERROR") and "checkpoint.pt" in proc.stdout
    assert ckpt.read_bytes() == (reference_run / "checkpoint.pt").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_resume_after_the_last_stage_before_the_model_file(gm_dataset, reference_run, tmp_path):
    """A kill between the last stage's checkpoint and the model file: the rerun writes the
    same model file and records as an uninterrupted run (it used to crash on resume)."""
    import shutil

    from sing.training.checkpoint import save_checkpoint

    out = tmp_path / "late"
    shutil.copytree(reference_run, out)
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["done"] and int(state["stage"]) == 3
    state["done"] = False
    state["metrics"] = [r for r in state["metrics"] if r.get("split") != "test"]
    save_checkpoint(out / "checkpoint.pt", state)
    (out / "model.safetensors").unlink()
    assert run_cli(*train_args(gm_dataset, out, "--checkpoint-every", "0")) == 0
    ref, got = tensors(reference_run / "model.safetensors"), tensors(out / "model.safetensors")
    assert ref.keys() == got.keys()
    assert all(torch.equal(ref[k], got[k]) for k in ref)
    assert _records(out) == _records(reference_run)


def test_sigterm_while_encoding_stage_2_targets(gm_dataset, reference_run, tmp_path, capsys,
                                                monkeypatch):
    """A stop that lands while stage 2's targets are encoded: out within a batch, a checkpoint
    at the start of stage 2, no frames folder left, and the resumed run is bit-identical."""
    import sing.training.frames_cache as frames_cache

    real = frames_cache.build_frames_cache
    polls: list[int] = []

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)  # the real handler sets the stop flag
        stop = kwargs["stop"]
        kwargs["stop"] = lambda: polls.append(1) or stop()
        return real(*args, **kwargs)

    out = tmp_path / "stopped"
    args = train_args(gm_dataset, out, "--checkpoint-every", "60")
    monkeypatch.setattr(frames_cache, "build_frames_cache", signalled)
    assert run_cli(*args) == 128 + signal.SIGTERM
    captured = capsys.readouterr()
    assert "checkpoint written" in captured.out and "Traceback" not in captured.err
    assert polls == [1]  # stopped before the first batch was encoded
    state = load_checkpoint(out / "checkpoint.pt")
    assert (state["stage"], state["epoch"], state["step"], state["done"]) == (1, 0, 0, False)
    assert not any(p.name.startswith(("frames", ".tmp")) for p in out.iterdir())
    monkeypatch.setattr(frames_cache, "build_frames_cache", real)
    assert run_cli(*args) == 0
    ref, got = tensors(reference_run / "model.safetensors"), tensors(out / "model.safetensors")
    assert all(torch.equal(ref[k], got[k]) for k in ref)
