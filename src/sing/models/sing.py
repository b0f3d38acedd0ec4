"""SING: the sequence generator followed by the convolutional decoder (training stage 3).

``forward(instrument[B], pitch[B], velocity[B]) -> wav[B, T]``: the LSTM emits
``num_frames(T)`` frames (265 for a 64,000-sample note), the decoder turns them into 65,024
samples, and 512 are stripped from each end so the output is aligned sample by sample with the
note (see :mod:`sing.models.frames`). The stage-3 loss compares that output with the note
(``strip=True``), or, as the reference code did, the unstripped 65,024 samples with
``frames.loss_target(wav)`` (``strip=False``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from sing.models import frames as F_
from sing.models.config import SingConfig
from sing.models.decoder import Decoder
from sing.models.sequence_generator import SequenceGenerator

if TYPE_CHECKING:
    from sing.data.vocabulary import Vocabulary


class SING(nn.Module):
    """Sequence generator + decoder. ``kind = "sing"`` in model files.

    ``vocabulary`` (optional) maps instrument names and velocities to the lookup-table indices;
    it travels with the model in model files.
    """

    kind = "sing"

    def __init__(self, config: SingConfig, vocabulary: Vocabulary | None = None) -> None:
        super().__init__()
        self.config = config
        self.vocabulary = vocabulary
        self.generator = SequenceGenerator(config)
        self.decoder = Decoder(config)

    def forward(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        strip: bool = True,
        instrument_embedding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Generate notes.

        Args:
            instrument, pitch, velocity: LongTensor[B] (model indices; pitch is MIDI; velocity
                indexes ``vocabulary.velocities``).
            strip: cut the decoder output back to the note length T (default), or return the
                T + window samples (65,024) that ``frames.loss_target`` matches.
            instrument_embedding: Tensor[B, instrument_dim] used instead of looking
                ``instrument`` up (e.g. a blend of instruments, :mod:`sing.models.blend`).
        Returns:
            wav Tensor[B, T] (T = ``config.note_length``).
        """
        frames, _ = self.generator(
            instrument, pitch, velocity, instrument_embedding=instrument_embedding
        )
        decoded = self.decoder(frames)
        if not strip:
            return decoded
        return F_.strip(decoded, self.config.note_length, self.config)
