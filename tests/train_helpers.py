"""Helpers of the training tests (a uniquely named module: `from train_helpers import ...`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

#: A few notes, tiny preset, 1-2 epochs per stage: seconds on a 2-core CPU.
TINY = ("--preset", "tiny", "--batch-size", "4", "--max-notes", "8", "--eval-notes", "4",
        "--seed", "3", "--no-progress")


def train_args(data: Path, out: Path, *extra: str, epochs: int = 2) -> list[str]:
    """Arguments of `sing train` for a tiny run with ``epochs`` epochs in every stage."""
    return ["train", "--data", str(data), "--out", str(out), *TINY,
            "--epochs-ae", str(epochs), "--epochs-seq", str(epochs),
            "--epochs-sing", str(epochs), *extra]


def sing_cmd(*args: str) -> list[str]:
    """`python -m sing ARGS` with this interpreter."""
    return [sys.executable, "-m", "sing", *args]


def child_env() -> dict[str, str]:
    """Environment of child processes: one intra-op thread, like the tests' own process
    (small ops on a busy 2-core machine are many times faster single-threaded)."""
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def run_cli(*args: str) -> int:
    """Run `sing ARGS` in this process; returns the exit code."""
    from sing.cli import main

    return main(list(args))


def run_sing(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `sing ARGS` in a child process and return the completed process."""
    return subprocess.run(sing_cmd(*args), capture_output=True, text=True, timeout=timeout,
                          env=child_env())


def tensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a model file."""
    return load_file(str(path))
