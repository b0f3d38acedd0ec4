"""Fixtures of the training tests: one intra-op thread, an uninterrupted reference run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from train_helpers import run_cli, train_args


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Run this directory's tests with one intra-op thread (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def reference_run(gm_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted tiny run of all three stages (2 epochs each), checkpoint every step."""
    out = tmp_path_factory.mktemp("train") / "reference"
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert run_cli(*train_args(gm_dataset, out, "--checkpoint-every", "0")) == 0
    finally:
        torch.set_num_threads(before)
    return out
