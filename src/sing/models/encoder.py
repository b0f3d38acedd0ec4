"""The convolutional encoder (stage 1 only): a waveform -> frames, the decoder's mirror image.

``WindowedConv1d(1, 4096, 1024, stride 256)`` + ReLU, ``rewrite_layers`` x
(``Conv1d(4096, 4096, 1)`` + ReLU), ``Conv1d(4096, 128, 1)``.
"""

from __future__ import annotations

import torch
from torch import nn

from sing.models import frames as F_
from sing.models.config import SingConfig
from sing.models.windowed import WindowedConv1d


class Encoder(nn.Module):
    """Waveform -> frames. Used to train the decoder (stage 1) and to make the LSTM's targets."""

    def __init__(self, config: SingConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        layers: list[nn.Module] = [
            WindowedConv1d(1, c, config.window, stride=config.stride),
            nn.ReLU(),
        ]
        for _ in range(config.rewrite_layers):
            layers += [nn.Conv1d(c, c, 1), nn.ReLU()]
        layers.append(nn.Conv1d(c, config.frame_dim, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, padded: torch.Tensor) -> torch.Tensor:
        """padded: Tensor[B, T_padded] (already :func:`~sing.models.frames.pad_note`-ed)
        -> frames Tensor[B, D, L] with L = (T_padded - window)/stride + 1."""
        return self.layers(padded.unsqueeze(1))

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: Tensor[B, T] (a raw note) -> frames Tensor[B, D, num_frames(T)] (265 for paper)."""
        return self(F_.pad_note(wav, self.config))
