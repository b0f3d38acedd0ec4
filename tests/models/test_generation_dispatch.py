"""The one generation path's choice of network (sing.generation.choose_backend)."""

from __future__ import annotations

import torch

from sing import generation
from sing.data.vocabulary import Vocabulary
from sing.generation import Note, choose_backend, generate, measured_backend
from sing.models import SING, SingConfig


def _model() -> SING:
    torch.manual_seed(0)
    vocabulary = Vocabulary(instruments=("a", "b"), instrument_ids=(0, 1),
                            families=("guitar", "brass"), pitch_min=48, pitch_max=72,
                            note_length=4000)
    model = SING(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary).eval()
    model.vocabulary = vocabulary
    return model


def test_rules_before_measuring():
    model = _model()
    assert choose_backend(torch.device("cuda"), torch.float32, 4, model) == "reference"
    assert choose_backend(torch.device("meta"), torch.float32, 4, model) == "reference"
    # a caller that decodes only parts of its notes needs the fast path's position mask
    assert choose_backend(torch.device("cpu"), torch.float32, 4, model, masked=True) == "fast"
    # on the CPU only the fast path computes below float32 (no bf16 LSTM in oneDNN everywhere)
    assert choose_backend(torch.device("cpu"), torch.bfloat16, 1, model) == "fast"


def test_measured_once_per_class_and_auto_matches_the_reference():
    model = _model()
    first = measured_backend(model, torch.float32, 1)
    assert first in ("fast", "reference")
    known = generation._MEASURED[model]
    assert len(known) == 1
    assert measured_backend(model, torch.float32, 1) == first and len(known) == 1
    measured_backend(model, torch.float32, 20)  # another batch-size class: measured anew
    assert len(known) == 2
    notes = [Note("", 0, 60, 2), Note("", 1, 50, 4)]
    auto = generate(model, notes, batch_size=2)
    reference = generate(model, notes, batch_size=2, backend="reference")
    torch.testing.assert_close(auto, reference, rtol=0,
                               atol=2e-5 * float(reference.abs().max()))
