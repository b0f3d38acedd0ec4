"""Convolutions whose weight is smoothed by a squared Hann window at every forward pass.

SING's outer layers (the encoder's input ``Conv1d(1, C, 1024, stride 256)`` and the decoder's
output ``ConvTranspose1d(C, 1, 1024, stride 256)``) multiply their weight, along the kernel
axis, by ``hann(window)**2`` each time they run, so the learned kernels stay smooth at their
edges and overlapping frames add up without clicks. The window is a non-persistent buffer:
model files hold only the raw learned weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def squared_hann(length: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Periodic Hann window squared: Tensor[length] = sin(pi * n / length)**4 (on the CPU, even
    inside ``with torch.device("meta")``: there torch would decompose it, importing
    ``torch._dynamo``, ~1.5 CPU-s of a cold start)."""
    window = torch.hann_window(length, periodic=True, dtype=torch.float64, device="cpu")
    return window.pow(2).to(dtype)


class _SquaredHannWindowed:
    """Mixin for ``nn.Conv1d`` / ``nn.ConvTranspose1d``: keeps ``squared_hann(K)`` as a
    non-persistent buffer and multiplies the weight by it along the kernel axis."""

    weight: torch.Tensor
    window: torch.Tensor

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("window", squared_hann(self.kernel_size[0]), persistent=False)

    def windowed_weight(self) -> torch.Tensor:
        """The effective weight: Tensor[C_out, C_in, K] (Conv1d) or [C_in, C_out, K]
        (ConvTranspose1d), times the window."""
        return self.weight * self.window.to(self.weight.dtype)


class WindowedConv1d(_SquaredHannWindowed, nn.Conv1d):
    """``nn.Conv1d`` whose weight [C_out, C_in, K] is multiplied by ``squared_hann(K)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: Tensor[B, C_in, N] -> Tensor[B, C_out, (N - K)/stride + 1]."""
        return self._conv_forward(x, self.windowed_weight(), self.bias)


class WindowedConvTranspose1d(_SquaredHannWindowed, nn.ConvTranspose1d):
    """``nn.ConvTranspose1d`` whose weight [C_in, C_out, K] is multiplied by ``squared_hann(K)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: Tensor[B, C_in, L] -> Tensor[B, C_out, (L - 1)*stride - 2*padding + K]."""
        return F.conv_transpose1d(
            x,
            self.windowed_weight(),
            self.bias,
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            groups=self.groups,
            dilation=self.dilation,
        )
