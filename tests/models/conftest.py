"""Fixtures of the model tests: a tiny vocabulary, a tiny SING model file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sing.data.vocabulary import Vocabulary


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a loaded 2-core machine PyTorch's LSTM backward path with 2
    spinning threads can be 1000x slower; one thread keeps these tests fast and deterministic."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def vocabulary() -> Vocabulary:
    """Three instruments, NSynth velocities, a piano's pitch range, 1-second notes."""
    return Vocabulary(
        instruments=("guitar_acoustic_009", "brass_acoustic_001", "flute_synthetic_000"),
        instrument_ids=(9, 1, 0),
        families=("guitar", "brass", "flute"),
        pitch_min=21,
        pitch_max=108,
        note_length=16000,
    )


@pytest.fixture
def tiny_model_file(tmp_path: Path, vocabulary: Vocabulary) -> Path:
    """An untrained ``tiny`` SING model saved by the code."""
    from sing.models import SING, SingConfig
    from sing.models.io import save_model

    torch.manual_seed(0)
    model = SING(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary)
    return save_model(tmp_path / "tiny.safetensors", model, recipe={"stage": "untrained"})
