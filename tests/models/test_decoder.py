"""The decoder's and the encoder's two forms side by side: GEMMs on time-major activations
(``forward``, used for training) and the convolution modules (``forward_conv``); and the
overlap-add op against a NumPy float64 reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sing.dsp.overlap_add import overlap_add
from sing.models import SingConfig
from sing.models.decoder import Decoder


@pytest.mark.parametrize(("preset", "overrides"), [
    ("tiny", {}),
    ("tiny", {"rewrite_layers": 0, "context_size": 3}),
    ("small", {"channels": 96, "frame_dim": 24}),
])
def test_gemm_form_matches_convolutions(preset, overrides):
    """Outputs and every gradient (frames and weights) agree to float32 rounding."""
    torch.manual_seed(0)
    config = SingConfig.preset(preset, **overrides)
    decoder = Decoder(config)
    with torch.no_grad():  # a non-zero output bias, so its handling is checked too
        decoder.layers[-1].bias.fill_(0.01)
    frames = torch.randn(3, config.frame_dim, 30, requires_grad=True)
    outputs, grads = [], []
    for form in (decoder.forward, decoder.forward_conv):
        out = form(frames)
        torch.manual_seed(1)
        g = torch.randn_like(out)
        grads.append(torch.autograd.grad(out, [frames, *decoder.parameters()], g))
        outputs.append(out)
    assert outputs[0].shape == outputs[1].shape == (3, (30 - config.context_size) * 256 - 512)
    scale = outputs[1].abs().max()
    assert (outputs[0] - outputs[1]).abs().max() < 1e-5 * scale
    for ours, ref in zip(*grads, strict=True):
        assert (ours - ref).abs().max() < 1e-5 * ref.abs().max()


def reference_overlap_add(pieces: np.ndarray, hop: int) -> np.ndarray:
    """out[:, i*hop : i*hop + W] += pieces[:, i], float64."""
    b, n, w = pieces.shape
    out = np.zeros((b, (n - 1) * hop + w))
    for i in range(n):
        out[:, i * hop : i * hop + w] += pieces[:, i]
    return out


@pytest.mark.parametrize(("n", "w", "hop"), [(7, 16, 4), (1, 8, 8), (5, 12, 3)])
def test_overlap_add_matches_float64_reference(n, w, hop):
    rng = np.random.default_rng(0)
    pieces = rng.standard_normal((2, n, w))
    g = rng.standard_normal((2, (n - 1) * hop + w))
    t = torch.from_numpy(pieces).requires_grad_(True)
    out = overlap_add(t, hop)
    np.testing.assert_allclose(out.detach().numpy(), reference_overlap_add(pieces, hop),
                               rtol=0, atol=1e-12)
    (out * torch.from_numpy(g)).sum().backward()
    # the adjoint: d/dpieces[i, j] of sum(g * out) = g[i*hop + j]
    expected = np.stack([g[:, i * hop : i * hop + w] for i in range(n)], axis=1)
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=0, atol=1e-12)


def test_overlap_add_rejects_a_window_not_a_multiple_of_hop():
    with pytest.raises(ValueError, match="multiple of hop"):
        overlap_add(torch.zeros(1, 3, 10), 4)


@pytest.mark.parametrize(("preset", "overrides"), [
    ("tiny", {}),
    ("tiny", {"rewrite_layers": 0}),
])
def test_encoder_gemm_form_matches_convolutions(preset, overrides):
    """The encoder's two forms: frames and every weight gradient agree to float32 rounding."""
    from sing.models.encoder import Encoder

    torch.manual_seed(0)
    config = SingConfig.preset(preset, **overrides)
    encoder = Encoder(config)
    padded = torch.randn(3, 1024 + 20 * 256)
    outputs, grads = [], []
    for form in (encoder.forward, encoder.forward_conv):
        out = form(padded)
        torch.manual_seed(1)
        grads.append(torch.autograd.grad(out, list(encoder.parameters()), torch.randn_like(out)))
        outputs.append(out)
    assert outputs[0].shape == outputs[1].shape == (3, config.frame_dim, 21)
    assert (outputs[0] - outputs[1]).abs().max() < 1e-5 * outputs[1].abs().max()
    for ours, ref in zip(*grads, strict=True):
        assert (ours - ref).abs().max() < 1e-5 * ref.abs().max()
