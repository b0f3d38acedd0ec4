"""Differentiable overlap-add: the transposed convolution's output step, as its own op.

``overlap_add(pieces, hop)`` sums ``pieces[:, i]`` (each ``window`` samples long, ``window`` a
multiple of ``hop``) into one signal at offsets ``i * hop``. It is the adjoint of
``Tensor.unfold(-1, window, hop)``, which is therefore its backward: both are memory-bound
passes over the pieces, far cheaper than ``conv_transpose1d``'s forward on the CPU, where
oneDNN runs a ``C -> 1`` transposed convolution at a third of the GEMM rate (see
docs/benchmarks.md, Training).
"""

from __future__ import annotations

import torch


class _OverlapAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, pieces: torch.Tensor, hop: int) -> torch.Tensor:  # type: ignore[override]
        b, n, window = pieces.shape
        ctx.window, ctx.hop = window, hop
        overlap = window // hop
        parts = pieces.reshape(b, n, overlap, hop)
        full = pieces.new_zeros(b, n + overlap - 1, hop)
        for q in range(overlap):
            full[:, q : q + n] += parts[:, :, q]
        return full.reshape(b, -1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        return grad.unfold(-1, ctx.window, ctx.hop), None


def overlap_add(pieces: torch.Tensor, hop: int) -> torch.Tensor:
    """Sum windows with hop ``hop``.

    Args:
        pieces: Tensor[B, N, W], W a multiple of ``hop``.
        hop: samples between the starts of consecutive pieces.
    Returns:
        Tensor[B, (N - 1) * hop + W]: ``out[:, i*hop : i*hop + W] += pieces[:, i]`` for each i.
    """
    if pieces.dim() != 3 or pieces.shape[-1] % hop:
        raise ValueError(f"pieces must be [B, N, W] with W a multiple of hop={hop}, "
                         f"got {tuple(pieces.shape)}")
    return _OverlapAdd.apply(pieces, hop)
