"""sing.models.shapes (torch-free arithmetic) against the torch modules' own state dicts."""

from __future__ import annotations

import pytest

from sing.models.autoencoder import Autoencoder
from sing.models.config import SingConfig
from sing.models.shapes import state_shapes
from sing.models.sing import SING
from sing.models.validation import expected_tensors

CONFIGS = [
    SingConfig.preset("paper"),
    SingConfig.preset("medium"),
    SingConfig.preset("small", num_instruments=7, num_velocities=3, note_length=16000),
    SingConfig.preset("tiny", time_embedding=False, num_layers=3, rewrite_layers=0,
                      context_size=5, window=512, stride=128, note_length=3001),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["paper", "medium", "small", "odd-tiny"])
@pytest.mark.parametrize("kind,cls", [("sing", SING), ("autoencoder", Autoencoder)])
def test_state_shapes_equal_the_torch_state_dict(config: SingConfig, kind: str, cls) -> None:
    want = {k: tuple(v.shape) for k, v in expected_tensors(cls, config).items()}
    assert state_shapes(kind, config) == want
    assert all(v.is_floating_point() for v in expected_tensors(cls, config).values())


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model kind"):
        state_shapes("vocoder", CONFIGS[0])
