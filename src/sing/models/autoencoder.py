"""The convolutional autoencoder (training stage 1): encoder + decoder on waveforms.

``forward(wav[B, T]) -> wav[B, T]``: pad the note with 2,304 zeros each side, encode it to 265
frames, decode them to 65,024 samples, strip 512 from each end (see :mod:`sing.models.frames`).
The stage-1 loss compares that output with the note itself (``strip=True``, T samples), or, as
the reference code did, the unstripped 65,024 samples with ``frames.loss_target(wav)``
(``strip=False``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from sing.models import frames as F_
from sing.models.config import SingConfig
from sing.models.decoder import Decoder
from sing.models.encoder import Encoder

if TYPE_CHECKING:
    from sing.data.vocabulary import Vocabulary


class Autoencoder(nn.Module):
    """Encoder + decoder. ``kind = "autoencoder"`` in model files."""

    kind = "autoencoder"

    def __init__(self, config: SingConfig, vocabulary: Vocabulary | None = None) -> None:
        super().__init__()
        self.config = config
        self.vocabulary = vocabulary
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """wav: Tensor[B, T] -> frames Tensor[B, D, num_frames(T)] (128 x 265 for the paper)."""
        return self.encoder.encode(wav)

    def forward(self, wav: torch.Tensor, strip: bool = True) -> torch.Tensor:
        """wav: Tensor[B, T] -> Tensor[B, T] (or Tensor[B, T + window] with ``strip=False``,
        to compare with ``frames.loss_target(wav)``)."""
        decoded = self.decoder(self.encode(wav))
        if not strip:
            return decoded
        return F_.strip(decoded, wav.shape[-1], self.config)
