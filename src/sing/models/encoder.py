"""The convolutional encoder (stage 1 only): a waveform -> frames, the decoder's mirror image.

``WindowedConv1d(1, 4096, 1024, stride 256)`` + ReLU, ``rewrite_layers`` x
(``Conv1d(4096, 4096, 1)`` + ReLU), ``Conv1d(4096, 128, 1)``.

As in :mod:`sing.models.decoder`, two forms of the same layers sit side by side behind one
consistency test (``tests/models/test_decoder.py``): :meth:`Encoder.forward` runs the weights
as matrix products on the waveform's ``window``-sample frames (``Tensor.unfold``) and
time-major activations; :meth:`Encoder.forward_conv` runs the convolution modules.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
        -> frames Tensor[B, D, L] with L = (T_padded - window)/stride + 1; as matrix
        products, equal to :meth:`forward_conv` up to rounding."""
        first, last = self.layers[0], self.layers[-1]
        windows = padded.unfold(-1, first.kernel_size[0], first.stride[0])  # [B, L, window]
        b, length = windows.shape[:2]
        # rows kept 2-D [B * L, C]: addmm's backward then needs no copies of 3-D activations
        h = F.linear(windows.reshape(b * length, -1), first.windowed_weight()[:, 0, :],
                     first.bias).relu_()
        for conv in self.layers[2:-1:2]:
            h = F.linear(h, conv.weight.reshape(conv.out_channels, conv.in_channels),
                         conv.bias).relu_()
        frames = F.linear(h, last.weight.reshape(last.out_channels, last.in_channels), last.bias)
        return frames.reshape(b, length, -1).transpose(1, 2).contiguous()

    def forward_conv(self, padded: torch.Tensor) -> torch.Tensor:
        """The reference form of :meth:`forward`: the convolution modules themselves."""
        return self.layers(padded.unsqueeze(1))

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: Tensor[B, T] (a raw note) -> frames Tensor[B, D, num_frames(T)] (265 for paper)."""
        return self(F_.pad_note(wav, self.config))
