"""The four metrics of the paper's Table 1 on a data set: spectral L1 / MSE, waveform MSE / L1.

:func:`evaluate_losses` works for :class:`~sing.models.sing.SING` (notes from their symbols)
and :class:`~sing.models.autoencoder.Autoencoder` (notes reconstructed from themselves). As in
the reference code, the decoder's unstripped output (65,024 samples for a 64,000-sample note) is
compared with ``frames.loss_target(wav)``, the note with ``window/2`` zeros on each side.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from torch import nn

logger = logging.getLogger(__name__)

#: Names of the metrics, in the order of :func:`loss_sums`.
METRICS: tuple[str, ...] = ("spectral_l1", "spectral_mse", "wav_mse", "wav_l1")


def get_items(dataset, indices: Sequence[int]) -> list[dict]:
    """Items ``indices`` of ``dataset``, in one gather when it has ``__getitems__``."""
    if hasattr(dataset, "__getitems__"):
        return dataset.__getitems__(list(indices))
    return [dataset[i] for i in indices]


def per_note_metrics(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The four metrics of each note.

    Args:
        output, target: Tensor[B, T] waveforms (any float dtype, computed in float32).
    Returns:
        Tensor[B, 4]: spectral L1, spectral MSE, waveform MSE, waveform L1 (means per note).
    """
    from sing.dsp import log_power_spectrogram

    output, target = output.float(), target.float()
    spec_out, spec_tgt = log_power_spectrogram(output), log_power_spectrogram(target)
    dspec = (spec_out - spec_tgt).flatten(1)
    dwav = (output - target).flatten(1)
    return torch.stack(
        [dspec.abs().mean(1), dspec.pow(2).mean(1), dwav.pow(2).mean(1), dwav.abs().mean(1)],
        dim=1,
    )


def model_output(model: nn.Module, batch: dict[str, torch.Tensor],
                 device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` (SING or Autoencoder) on a batch; returns (output, target), each
    Tensor[B, T + window]: the unstripped decoder output and ``frames.loss_target(wav)``."""
    from sing.models import frames

    wav = batch["wav"].to(device, non_blocking=True)
    core = model.module if hasattr(model, "module") else model
    if getattr(core, "kind", None) == "autoencoder":
        out = model(wav, strip=False)
    else:
        out = model(batch["instrument"].to(device), batch["pitch"].to(device),
                    batch["velocity"].to(device), strip=False)
    return out, frames.loss_target(wav, core.config)


@torch.no_grad()
def loss_sums(model: nn.Module, dataset, indices: Sequence[int], batch_size: int,
              device: torch.device, bf16: bool = False, progress: bool = False,
              desc: str = "evaluate") -> torch.Tensor:
    """Sums over ``indices`` of the per-note metrics, plus the count.

    Returns:
        Tensor[5] float64: the sums of :data:`METRICS` and the number of notes (so that
        ranks can add their shards before dividing).
    """
    from sing.data.nsynth import collate_notes
    from sing.utils.progress import progress_bar

    sums = torch.zeros(len(METRICS) + 1, dtype=torch.float64)
    was_training = model.training
    model.eval()
    indices = list(indices)
    batches = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    try:
        for chunk in progress_bar(batches, desc=desc, disable=not progress, leave=False,
                                  unit="batch"):
            batch = collate_notes(get_items(dataset, chunk))
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                out, target = model_output(model, batch, device)
            sums[:-1] += per_note_metrics(out, target).double().sum(0).cpu()
            sums[-1] += len(chunk)
    finally:
        model.train(was_training)
    return sums


def evaluate_losses(model: nn.Module, dataset, batch_size: int = 16,
                    device: str | torch.device = "cpu", indices: Sequence[int] | None = None,
                    bf16: bool = False, progress: bool = False) -> dict[str, float]:
    """Spectral L1, spectral MSE, waveform MSE and waveform L1, averaged over the notes.

    Args:
        model: a SING or an Autoencoder (already on ``device``).
        dataset: items with ``wav`` Tensor[T], ``instrument``, ``pitch``, ``velocity``.
        batch_size: notes per forward pass.
        indices: the notes to use (default: all).
    Returns:
        ``{"spectral_l1": ..., "spectral_mse": ..., "wav_mse": ..., "wav_l1": ...,
        "notes": n}``.
    """
    device = torch.device(device)
    if indices is None:
        indices = range(len(dataset))
    sums = loss_sums(model, dataset, indices, batch_size, device, bf16=bf16, progress=progress)
    return metrics_from_sums(sums)


def metrics_from_sums(sums: torch.Tensor) -> dict[str, float]:
    """``{metric: mean}`` (+ ``notes``) from the output of :func:`loss_sums`."""
    count = float(sums[-1])
    out: dict[str, float] = {
        name: float(sums[i] / count) if count else float("nan") for i, name in enumerate(METRICS)
    }
    out["notes"] = int(count)
    return out
