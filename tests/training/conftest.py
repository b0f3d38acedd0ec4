"""Fixtures of the training tests: one intra-op thread (``reference_run`` is shared, in
tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_intra_op_thread: None) -> None:
    """Every test of this directory runs with one intra-op thread (tests/conftest.py)."""
