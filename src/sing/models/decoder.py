"""The convolutional decoder: frames -> waveform in one pass.

``Conv1d(128, 4096, 9)`` + ReLU, ``rewrite_layers`` x (``Conv1d(4096, 4096, 1)`` + ReLU),
``WindowedConvTranspose1d(4096, 1, 1024, stride 256, padding 768)`` (squared-Hann weight).
L frames give (L - 9)*256 - 512 samples (see :mod:`sing.models.frames`).

Two implementations of the same layers sit side by side, behind one consistency test
(``tests/models/test_decoder.py``): :meth:`Decoder.forward_conv` runs the convolution modules
as they are; :meth:`Decoder.forward` (used for training and the model's own forward) runs the
same weights as matrix products on time-major activations ``[B, L, C]``: the first
convolution on its unfolded ``k``-frame context, the 1x1 rewrites as linear layers, and the
transposed convolution as a product to ``window``-sample pieces followed by
:func:`sing.dsp.overlap_add.overlap_add`. Forward and backward are then large GEMMs only: on
the CPU, oneDNN's ``C -> 1`` transposed convolution runs its forward at a third of the GEMM
rate, which made it the slowest layer of a training step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sing.dsp.overlap_add import overlap_add
from sing.models.config import SingConfig
from sing.models.windowed import WindowedConvTranspose1d


class Decoder(nn.Module):
    """Frames Tensor[B, D, L] -> waveform Tensor[B, decoded_length(L)] (unstripped)."""

    def __init__(self, config: SingConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        layers: list[nn.Module] = [nn.Conv1d(config.frame_dim, c, config.context_size), nn.ReLU()]
        for _ in range(config.rewrite_layers):
            layers += [nn.Conv1d(c, c, 1), nn.ReLU()]
        layers.append(
            WindowedConvTranspose1d(
                c, 1, config.window, stride=config.stride, padding=config.window - config.stride
            )
        )
        self.layers = nn.Sequential(*layers)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """frames: Tensor[B, D, L] -> Tensor[B, (L - 9)*256 - 512] (paper sizes), as matrix
        products (see the module docstring); equal to :meth:`forward_conv` up to rounding."""
        first, last = self.layers[0], self.layers[-1]
        k = first.kernel_size[0]
        b = frames.shape[0]
        # [B, D, L] -> [B, L - k + 1, D * k]: each position's context, in the weight's order
        # rows kept 2-D [B * M, C]: addmm's backward then needs no copies of 3-D activations
        context = frames.unfold(2, k, 1).transpose(1, 2).reshape(-1, first.in_channels * k)
        h = F.linear(context, first.weight.reshape(first.out_channels, -1), first.bias).relu_()
        for conv in self.layers[2:-1:2]:
            h = F.linear(h, conv.weight.reshape(conv.out_channels, conv.in_channels),
                         conv.bias).relu_()
        pieces = h @ last.windowed_weight()[:, 0, :]  # [B * M, window]
        wav = overlap_add(pieces.reshape(b, -1, pieces.shape[-1]), last.stride[0])
        pad = last.padding[0]
        wav = wav[:, pad : wav.shape[1] - pad]
        return wav if last.bias is None else wav + last.bias

    def forward_conv(self, frames: torch.Tensor) -> torch.Tensor:
        """The reference form of :meth:`forward`: the convolution modules themselves."""
        return self.layers(frames).squeeze(1)
