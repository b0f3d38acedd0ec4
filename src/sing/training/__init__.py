"""Training: the paper's three stages, crash-safe checkpoints, torchrun scale-out.

- :func:`train` (``sing train``): run or resume a training run from a :class:`TrainConfig`.
- :func:`evaluate_losses`: spectral L1/MSE and waveform MSE/L1 of a SING or Autoencoder.
- :func:`plot_metrics` (``sing plot``): a run's curves to a PNG.

Imports are lazy, so ``import sing.training`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sing.training.config import TrainConfig
    from sing.training.curves import plot_metrics
    from sing.training.trainer import TrainingInterrupted, train
    from sing.training.validation import evaluate_losses

__all__ = ["TrainConfig", "TrainingInterrupted", "evaluate_losses", "plot_metrics", "train"]

_WHERE = {
    "TrainConfig": "sing.training.config",
    "train": "sing.training.trainer",
    "TrainingInterrupted": "sing.training.trainer",
    "evaluate_losses": "sing.training.validation",
    "plot_metrics": "sing.training.curves",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sing.training' has no attribute {name!r}")
