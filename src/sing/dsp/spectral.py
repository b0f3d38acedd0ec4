"""Differentiable log-power spectrograms and the spectral loss of SING.

``log_power_spectrogram(wav) = log(eps + |STFT(wav)|^2)`` with a periodic Hann window, n_fft
1024, hop 256, no centring, eps 1 (the paper's settings): the windowed frames of
``Tensor.unfold`` through a real FFT whose backward is one inverse real FFT, so gradients flow
back to the waveform (the same values as ``torch.stft(..., center=False)``, at a third of its
backward's FFT work; NumPy float64 reference in ``tests/dsp/test_spectral.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

LossKind = Literal["l1", "mse"]

_WINDOWS: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def _hann(n_fft: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    key = (n_fft, dtype, device)
    window = _WINDOWS.get(key)
    if window is None:
        window = torch.hann_window(n_fft, periodic=True, dtype=dtype, device=device)
        _WINDOWS[key] = window
    return window


class _Power(torch.autograd.Function):
    """|rfft(x)|^2 along the last axis. Backward: the gradient of sum_k g_k |X_k|^2 is
    2 Re(sum_k g_k X_k e^{+2 pi i k m / n}) over the full spectrum, i.e. ``n * irfft(c * g * X)``
    with c = 2 at DC and Nyquist (which irfft counts once, the other bins twice): one real
    FFT each way instead of ``torch.stft``'s complex backward (three times the FFT work)."""

    @staticmethod
    def forward(ctx, frames: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        spec = torch.fft.rfft(frames)
        ctx.save_for_backward(spec)
        ctx.n = frames.shape[-1]
        return spec.real.square() + spec.imag.square()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (spec,) = ctx.saved_tensors
        n = ctx.n
        weighted = grad * spec
        weighted[..., 0] *= 2
        if n % 2 == 0:
            weighted[..., -1] *= 2
        return torch.fft.irfft(weighted, n=n) * n


def log_power_spectrogram(
    wav: torch.Tensor, n_fft: int = 1024, hop: int = 256, eps: float = 1.0
) -> torch.Tensor:
    """log(eps + |STFT(wav)|^2).

    Args:
        wav: Tensor[B, T] (or [T]), T >= n_fft.
        n_fft: FFT size = window length (periodic Hann).
        hop: hop length.
        eps: added to the power before the log (1 in the paper).
    Returns:
        Tensor[B, F, N] with F = n_fft // 2 + 1 and N = (T - n_fft) // hop + 1 (no centring).
    """
    if wav.shape[-1] < n_fft:
        raise ValueError(f"signal of {wav.shape[-1]} samples is shorter than n_fft={n_fft}")
    compute = wav if wav.dtype in (torch.float32, torch.float64) else wav.float()
    frames = compute.unfold(-1, n_fft, hop) * _hann(n_fft, compute.dtype, compute.device)
    power = _Power.apply(frames).transpose(-1, -2)
    return torch.log(eps + power)


def stft_log_power_spectrogram(
    wav: torch.Tensor, n_fft: int = 1024, hop: int = 256, eps: float = 1.0
) -> torch.Tensor:
    """The reference form of :func:`log_power_spectrogram`: ``torch.stft`` with autograd's own
    complex backward (same arguments, same result up to rounding)."""
    compute = wav if wav.dtype in (torch.float32, torch.float64) else wav.float()
    spec = torch.stft(compute, n_fft=n_fft, hop_length=hop,
                      window=_hann(n_fft, compute.dtype, compute.device), center=False,
                      return_complex=True)
    return torch.log(eps + spec.real.square() + spec.imag.square())


def _distance(x: torch.Tensor, y: torch.Tensor, kind: LossKind) -> torch.Tensor:
    if kind == "l1":
        return F.l1_loss(x, y)
    if kind == "mse":
        return F.mse_loss(x, y)
    raise ValueError(f"unknown loss kind {kind!r} (valid: 'l1', 'mse')")


def spectral_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    kind: LossKind = "l1",
    n_fft: int = 1024,
    hop: int = 256,
    eps: float = 1.0,
) -> torch.Tensor:
    """Mean L1 (default, the paper's) or MSE distance between log-power spectrograms.

    Args:
        x, y: Tensor[B, T] (generated and reference waveforms, same shape).
    Returns:
        scalar Tensor: mean over batch, frequencies and frames.
    """
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    return _distance(
        log_power_spectrogram(x, n_fft, hop, eps), log_power_spectrogram(y, n_fft, hop, eps), kind
    )


def wav_mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error between waveforms x, y: Tensor[B, T] -> scalar."""
    return F.mse_loss(x, y)


def wav_l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error between waveforms x, y: Tensor[B, T] -> scalar."""
    return F.l1_loss(x, y)


#: (n_fft, hop) pairs of the multi-resolution option.
DEFAULT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((2048, 512), (1024, 256), (512, 128), (256, 64))


class MultiResolutionSpectralLoss(nn.Module):
    """Mean of :func:`spectral_loss` over several (n_fft, hop) resolutions.

    With ``resolutions=((1024, 256),)`` it is exactly the paper's spectral loss.
    """

    def __init__(
        self,
        resolutions: Sequence[tuple[int, int]] = DEFAULT_RESOLUTIONS,
        kind: LossKind = "l1",
        eps: float = 1.0,
    ) -> None:
        super().__init__()
        if not resolutions:
            raise ValueError("at least one (n_fft, hop) resolution is needed")
        self.resolutions = tuple((int(n), int(h)) for n, h in resolutions)
        self.kind = kind
        self.eps = eps

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y: Tensor[B, T] -> scalar."""
        losses = [spectral_loss(x, y, self.kind, n, h, self.eps) for n, h in self.resolutions]
        return torch.stack(losses).mean()
