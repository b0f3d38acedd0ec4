"""The paper's metrics, per note: spectral L1 / MSE and waveform MSE / L1.

Spectral distances compare ``log(1 + |STFT|^2)`` of the two notes (``sing.dsp``: n_fft 1024,
hop 256, Hann window, no centering), averaged over frequency bins and frames; waveform
distances are averaged over samples. Averaging these per-note values over a split gives the
numbers of the paper's Table 1.
"""

from __future__ import annotations

import torch

NOTE_METRICS: tuple[str, ...] = ("spectral_l1", "spectral_mse", "wav_mse", "wav_l1")


@torch.no_grad()
def note_metrics(estimate: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-note metrics of ``estimate: Tensor[B, T]`` against ``target: Tensor[B, T]``.

    Returns a dict metric name -> ``Tensor[B]`` (float64). Both signals are cut to the
    shorter length.
    """
    from sing.dsp import log_power_spectrogram

    if estimate.dim() == 1:
        estimate = estimate.unsqueeze(0)
    if target.dim() == 1:
        target = target.unsqueeze(0)
    length = min(estimate.shape[-1], target.shape[-1])
    est = estimate[..., :length].to(torch.float32)
    ref = target[..., :length].to(torch.float32)
    diff = (log_power_spectrogram(est) - log_power_spectrogram(ref)).to(torch.float64)
    wav_diff = (est - ref).to(torch.float64)
    return {
        "spectral_l1": diff.abs().flatten(1).mean(1),
        "spectral_mse": diff.pow(2).flatten(1).mean(1),
        "wav_mse": wav_diff.pow(2).mean(-1),
        "wav_l1": wav_diff.abs().mean(-1),
    }
