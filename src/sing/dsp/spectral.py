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


class _SpectralL1(torch.autograd.Function):
    """The paper's loss ``mean |log(eps + |X|^2) - log(eps + |Y|^2)|`` of a signal ``x`` against
    a fixed reference ``y``, forward and backward in one function. Its gradient in closed form:
    ``d/d|X|^2 = sign(d) / ((eps + |X|^2) M)`` (d the log-power difference, M its count), then
    :class:`_Power`'s one-irfft backward, the window, and the adjoint of the framing. Compared
    with autograd through the separate ops, it skips the saved intermediates and the real to
    complex promotion of the gradient (the costliest passes of a training step's loss)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, y: torch.Tensor, n_fft: int, hop: int,  # type: ignore[override]
                eps: float) -> torch.Tensor:
        window = _hann(n_fft, x.dtype, x.device)
        spec = torch.fft.rfft(x.unfold(-1, n_fft, hop) * window)  # [..., N, F]
        shifted = _power(spec).add_(eps)
        with torch.no_grad():
            target = _power(torch.fft.rfft(y.unfold(-1, n_fft, hop) * window)).add_(eps).log_()
        diff = torch.log(shifted).sub_(target)
        loss = diff.abs().mean()
        weight = diff.sign_().div_(shifted)  # M x d loss / d |X|^2
        ctx.save_for_backward(spec, weight, window)
        ctx.geometry = (x.shape, n_fft, hop, diff.numel())
        return loss

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        spec, weight, window = ctx.saved_tensors
        shape, n_fft, hop, count = ctx.geometry
        scale = (weight * (grad / count)).unsqueeze(-1)
        weighted = torch.view_as_complex(torch.view_as_real(spec) * scale)
        weighted[..., 0] *= 2
        if n_fft % 2 == 0:
            weighted[..., -1] *= 2
        frames = torch.fft.irfft(weighted, n=n_fft).mul_(window * n_fft)
        return torch.ops.aten.unfold_backward(frames, shape, -1, n_fft, hop), None, None, None, None


def _power(spec: torch.Tensor) -> torch.Tensor:
    """|spec|^2 of a complex tensor, as a new real tensor."""
    parts = torch.view_as_real(spec)
    return parts[..., 0].square().addcmul_(parts[..., 1], parts[..., 1])


def spectral_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    kind: LossKind = "l1",
    n_fft: int = 1024,
    hop: int = 256,
    eps: float = 1.0,
) -> torch.Tensor:
    """Mean L1 (default, the paper's) or MSE distance between log-power spectrograms.

    When ``x`` needs a gradient and ``y`` does not (training), the L1 loss runs as one fused
    function (:class:`_SpectralL1`, the same values and gradient up to rounding:
    :func:`reference_spectral_loss` is its reference); otherwise the two spectrograms and
    their distance.

    Args:
        x, y: Tensor[B, T] (generated and reference waveforms, same shape).
    Returns:
        scalar Tensor: mean over batch, frequencies and frames.
    """
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if (kind == "l1" and torch.is_grad_enabled() and x.requires_grad and not y.requires_grad
            and x.shape[-1] >= n_fft):
        dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
        return _SpectralL1.apply(x.to(dtype), y.to(dtype), n_fft, hop, eps)
    return reference_spectral_loss(x, y, kind, n_fft, hop, eps)


def reference_spectral_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    kind: LossKind = "l1",
    n_fft: int = 1024,
    hop: int = 256,
    eps: float = 1.0,
) -> torch.Tensor:
    """:func:`spectral_loss` as the distance of two :func:`log_power_spectrogram` outputs,
    through autograd (the reference form of its fused L1)."""
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
