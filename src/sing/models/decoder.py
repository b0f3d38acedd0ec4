"""The convolutional decoder: frames -> waveform in one pass.

``Conv1d(128, 4096, 9)`` + ReLU, ``rewrite_layers`` x (``Conv1d(4096, 4096, 1)`` + ReLU),
``WindowedConvTranspose1d(4096, 1, 1024, stride 256, padding 768)`` (squared-Hann weight).
L frames give (L - 9)*256 - 512 samples (see :mod:`sing.models.frames`).
"""

from __future__ import annotations

import torch
from torch import nn

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
        """frames: Tensor[B, D, L] -> Tensor[B, (L - 9)*256 - 512] (paper sizes)."""
        return self.layers(frames).squeeze(1)
