"""The paper's metrics, per note: spectral L1 / MSE and waveform MSE / L1, and the loud-bin error.

Spectral distances compare ``log(1 + |STFT|^2)`` of the two notes (``sing.dsp``: n_fft 1024,
hop 256, Hann window, no centering), averaged over frequency bins and frames; waveform
distances are averaged over samples. Averaging these per-note values over a split gives the
numbers of the paper's Table 1.

Most STFT bins of a note are silent in the ground truth, so the spectral L1 is mostly the
error on a few harmonics; ``loud_l1`` is the mean ``|log-power difference|`` over the bins
where the ground truth's ``log(1 + |STFT|^2)`` exceeds :data:`LOUD_THRESHOLD` only (nan for a
note without such a bin). Silence scores the mean log-power of those bins there.
"""

from __future__ import annotations

import torch

NOTE_METRICS: tuple[str, ...] = ("spectral_l1", "spectral_mse", "wav_mse", "wav_l1", "loud_l1")
#: A bin is loud when the ground truth's ``log(1 + |STFT|^2)`` is above this.
LOUD_THRESHOLD = 1.0


@torch.no_grad()
def note_metrics(estimate: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-note metrics of ``estimate: Tensor[B, T]`` against ``target: Tensor[B, T]``.

    Returns a dict metric name (:data:`NOTE_METRICS`) -> ``Tensor[B]`` (float64). Both
    signals are cut to the shorter length.
    """
    from sing.dsp import log_power_spectrogram

    if estimate.dim() == 1:
        estimate = estimate.unsqueeze(0)
    if target.dim() == 1:
        target = target.unsqueeze(0)
    length = min(estimate.shape[-1], target.shape[-1])
    est = estimate[..., :length].to(torch.float32)
    ref = target[..., :length].to(torch.float32)
    ref_spec = log_power_spectrogram(ref)
    diff = (log_power_spectrogram(est) - ref_spec).to(torch.float64)
    loud = (ref_spec > LOUD_THRESHOLD).flatten(1)
    loud_sum = (diff.abs().flatten(1) * loud).sum(1)
    loud_count = loud.sum(1).to(torch.float64)
    wav_diff = (est - ref).to(torch.float64)
    return {
        "spectral_l1": diff.abs().flatten(1).mean(1),
        "spectral_mse": diff.pow(2).flatten(1).mean(1),
        "wav_mse": wav_diff.pow(2).mean(-1),
        "wav_l1": wav_diff.abs().mean(-1),
        # nan (not 0) for a note without a loud bin: averages over a split skip it
        "loud_l1": torch.where(loud_count > 0, loud_sum / loud_count.clamp(min=1),
                               torch.full_like(loud_sum, float("nan"))),
    }
