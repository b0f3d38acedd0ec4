"""Spectral and waveform losses against a NumPy/SciPy float64 reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from sing.dsp import (
    MultiResolutionSpectralLoss,
    log_power_spectrogram,
    reference_spectral_loss,
    spectral_loss,
    stft_log_power_spectrogram,
    wav_l1,
    wav_mse,
)


def reference_log_power(x: np.ndarray, n_fft: int, hop: int, eps: float) -> np.ndarray:
    """log(eps + |STFT|^2) in float64: periodic Hann, no centring. x: [B, T] -> [B, F, N]."""
    window = scipy.signal.get_window("hann", n_fft, fftbins=True)
    n = (x.shape[-1] - n_fft) // hop + 1
    frames = np.stack([x[:, i * hop : i * hop + n_fft] * window for i in range(n)], axis=-1)
    spec = np.fft.rfft(frames, axis=1)  # [B, F, N]
    return np.log(eps + np.abs(spec) ** 2)


@pytest.mark.parametrize(("n_fft", "hop", "eps"), [(1024, 256, 1.0), (256, 64, 1e-3)])
def test_log_power_spectrogram_matches_float64_reference(n_fft, hop, eps):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4000)) * 0.3
    ours = log_power_spectrogram(torch.from_numpy(x), n_fft, hop, eps).numpy()
    ref = reference_log_power(x, n_fft, hop, eps)
    assert ours.shape == (2, n_fft // 2 + 1, (4000 - n_fft) // hop + 1)
    assert np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-3)) < 1e-6


def reference_log_power_grad(x: np.ndarray, g: np.ndarray, n_fft: int, hop: int,
                             eps: float) -> np.ndarray:
    """d/dx sum(g * log(eps + |STFT x|^2)) in float64, from the DFT's definition: with
    P_k = |X_k|^2, dP_k/dframe_m = 2 Re(conj(X_k) e^{-2 pi i k m / n}) * window_m."""
    window = scipy.signal.get_window("hann", n_fft, fftbins=True)
    n = (x.shape[-1] - n_fft) // hop + 1
    frames = np.stack([x[:, i * hop : i * hop + n_fft] * window for i in range(n)], axis=1)
    spec = np.fft.rfft(frames, axis=-1)  # [B, N, F]
    g_power = np.swapaxes(g, 1, 2) / (eps + np.abs(spec) ** 2)
    k, m = np.arange(n_fft // 2 + 1), np.arange(n_fft)
    dft = np.exp(-2j * np.pi * np.outer(k, m) / n_fft)
    g_frames = 2 * np.real(np.einsum("bnk,bnk,km->bnm", g_power, np.conj(spec), dft)) * window
    grad = np.zeros_like(x)
    for i in range(n):
        grad[:, i * hop : i * hop + n_fft] += g_frames[:, i]
    return grad


@pytest.mark.parametrize(("n_fft", "hop", "eps"), [(1024, 256, 1.0), (255, 64, 1e-3)])
def test_log_power_spectrogram_gradient_matches_float64_reference(n_fft, hop, eps):
    """The real-FFT backward (one irfft, DC and Nyquist weighted) is the true gradient, for
    even and odd n_fft; the torch.stft reference form agrees."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3000)) * 0.3
    g = rng.standard_normal((2, n_fft // 2 + 1, (3000 - n_fft) // hop + 1))
    ref = reference_log_power_grad(x, g, n_fft, hop, eps)
    for form in (log_power_spectrogram, stft_log_power_spectrogram):
        t = torch.from_numpy(x).requires_grad_(True)
        (form(t, n_fft, hop, eps) * torch.from_numpy(g)).sum().backward()
        assert np.max(np.abs(t.grad.numpy() - ref)) < 1e-10 * np.max(np.abs(ref))


@pytest.mark.parametrize(("n_fft", "hop", "eps"), [(1024, 256, 1.0), (255, 100, 1e-3)])
def test_fused_spectral_l1_matches_float64_reference(n_fft, hop, eps):
    """The fused L1 (training: x needs a gradient, y does not) against NumPy float64: its
    value is mean|LX - LY|, its gradient that of sum(sign(LX - LY) / M * LX); hops that do
    not divide n_fft and a tail no frame covers included."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((2, 2, 3000)) * 0.3
    lx, ly = reference_log_power(x, n_fft, hop, eps), reference_log_power(y, n_fft, hop, eps)
    want = np.mean(np.abs(lx - ly))
    want_grad = reference_log_power_grad(x, np.sign(lx - ly) / lx.size, n_fft, hop, eps)
    t = torch.from_numpy(x).requires_grad_(True)
    loss = spectral_loss(t, torch.from_numpy(y), n_fft=n_fft, hop=hop, eps=eps)
    assert loss.grad_fn is not None and "SpectralL1" in type(loss.grad_fn).__name__
    loss.backward()
    assert abs(loss.item() - want) < 1e-12 * want
    assert np.max(np.abs(t.grad.numpy() - want_grad)) < 1e-10 * np.max(np.abs(want_grad))
    covered = (3000 - n_fft) // hop * hop + n_fft  # samples after the last frame: no gradient
    assert covered < 3000 and np.all(t.grad.numpy()[:, covered:] == 0)


def test_fused_and_autograd_spectral_l1_agree_in_float32():
    """The two implementations side by side, as training runs them (float32, batch of 16-s
    notes cut short), and the cases that keep the autograd form."""
    torch.manual_seed(5)
    x = (0.2 * torch.randn(4, 20000)).requires_grad_(True)
    y = 0.2 * torch.randn(4, 20000)
    fused = spectral_loss(x, y)
    (g_fused,) = torch.autograd.grad(fused, x)
    plain = reference_spectral_loss(x, y)
    (g_plain,) = torch.autograd.grad(plain, x)
    assert fused.item() == pytest.approx(plain.item(), rel=1e-6)
    assert (g_fused - g_plain).abs().max() < 1e-4 * g_plain.abs().max()
    # a 1-D signal, and bfloat16 (autocast's output): computed in float32, gradient in kind
    one = x[0].detach().requires_grad_(True)
    spectral_loss(one, y[0]).backward()
    assert one.grad.shape == one.shape and one.grad.abs().max() > 0
    low = x.detach().bfloat16().requires_grad_(True)
    spectral_loss(low, y).backward()
    assert low.grad.dtype == torch.bfloat16
    # y needs a gradient too, or no gradient at all: the autograd form
    y2 = y.clone().requires_grad_(True)
    loss = spectral_loss(x, y2)
    assert "SpectralL1" not in type(loss.grad_fn).__name__
    with torch.no_grad():
        assert spectral_loss(x, y).item() == pytest.approx(plain.item(), rel=1e-6)


def test_fft_and_stft_forms_agree_in_float32():
    """The two implementations side by side: values and gradients of a loss, float32."""
    torch.manual_seed(3)
    x = (0.2 * torch.randn(3, 8000)).requires_grad_(True)
    y = 0.2 * torch.randn(3, 8000)
    grads, values = [], []
    for form in (log_power_spectrogram, stft_log_power_spectrogram):
        loss = torch.nn.functional.l1_loss(form(x), form(y))
        (grad,) = torch.autograd.grad(loss, x)
        values.append(loss.item())
        grads.append(grad)
    assert values[0] == pytest.approx(values[1], rel=1e-6)
    assert (grads[0] - grads[1]).abs().max() < 1e-4 * grads[1].abs().max()


def test_spectral_losses_match_reference():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 3, 3000)) * 0.2
    sx, sy = reference_log_power(x, 1024, 256, 1.0), reference_log_power(y, 1024, 256, 1.0)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    l1 = spectral_loss(tx, ty).item()
    mse = spectral_loss(tx, ty, kind="mse").item()
    assert abs(l1 - np.mean(np.abs(sx - sy))) / l1 < 1e-6
    assert abs(mse - np.mean((sx - sy) ** 2)) / mse < 1e-6
    assert abs(wav_mse(tx, ty).item() - np.mean((x - y) ** 2)) < 1e-12
    assert abs(wav_l1(tx, ty).item() - np.mean(np.abs(x - y))) < 1e-12
    assert spectral_loss(tx, tx).item() == 0.0
    with pytest.raises(ValueError, match="unknown loss kind"):
        spectral_loss(tx, ty, kind="l2")


def test_multi_resolution_loss():
    torch.manual_seed(0)
    x, y = torch.randn(2, 2, 4096, dtype=torch.float64)
    single = MultiResolutionSpectralLoss(resolutions=((1024, 256),))
    assert single(x, y).item() == pytest.approx(spectral_loss(x, y).item(), rel=1e-12)
    multi = MultiResolutionSpectralLoss()
    expected = np.mean([spectral_loss(x, y, "l1", n, h).item() for n, h in multi.resolutions])
    assert multi(x, y).item() == pytest.approx(expected, rel=1e-12)


def test_spectral_loss_gradcheck():
    torch.manual_seed(0)
    x = torch.randn(1, 64, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 64, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a: spectral_loss(a, y, "mse", n_fft=16, hop=4), (x,), eps=1e-6, atol=1e-6
    )
    assert torch.autograd.gradcheck(
        lambda a: log_power_spectrogram(a, n_fft=16, hop=8), (x,), eps=1e-6, atol=1e-6
    )


def test_spectral_loss_drives_a_signal_to_its_target():
    """Gradient descent on the spectral loss alone lowers it (gradients reach the waveform)."""
    torch.manual_seed(0)
    t = torch.arange(4096) / 16000
    target = (0.5 * torch.sin(2 * torch.pi * 440 * t)).unsqueeze(0)
    x = (0.01 * torch.randn(1, 4096)).requires_grad_()
    opt = torch.optim.Adam([x], lr=1e-2)
    first = spectral_loss(x, target).item()
    for _ in range(30):
        opt.zero_grad()
        loss = spectral_loss(x, target)
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
