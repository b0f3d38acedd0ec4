"""Fixtures of the model tests: one intra-op thread (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a loaded 2-core machine PyTorch's LSTM backward path with 2
    spinning threads can be 1000x slower; one thread keeps these tests fast and deterministic."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
