"""Fixtures of the MIDI tests (helpers in midi_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from midi_helpers import gm_vocabulary, save_tiny

from sing.data.vocabulary import Vocabulary


@pytest.fixture(autouse=True)
def _one_thread(one_intra_op_thread: None) -> None:
    """Every test of this directory runs with one intra-op thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def gm_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GM model whose training notes were held 0.5 s of 1 s (vocabulary extra)."""
    return save_tiny(tmp_path_factory.mktemp("models") / "gm.safetensors", gm_vocabulary())


@pytest.fixture(scope="session")
def nsynth_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with NSynth instrument names (not GM programs)."""
    vocabulary = Vocabulary(
        instruments=("guitar_acoustic_009", "brass_acoustic_001"),
        instrument_ids=(9, 1),
        families=("guitar", "brass"),
        pitch_min=21,
        pitch_max=108,
        note_length=16000,
    )
    return save_tiny(tmp_path_factory.mktemp("models") / "nsynth.safetensors", vocabulary)
