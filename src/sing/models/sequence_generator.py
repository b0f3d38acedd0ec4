"""The sequence generator: (instrument, pitch, velocity) -> one frame per step with an LSTM.

At every step the LSTM reads the concatenation of three learned lookup tables (velocity 2,
instrument 16, pitch 8 dims) and a learned time embedding (4 dims, one row per step, shared
by all notes), i.e. 30 dims; a linear layer maps each hidden state (1024) to a frame (128).

``forward`` can run any window ``[start, start + length)`` of steps from a carried LSTM
state, which truncated back-propagation through time needs; consecutive windows give the
same frames as one full pass.

Instead of an instrument index, a caller may give the instrument's embedding itself
(``instrument_embedding: Tensor[B, instrument_dim]``): a blend of learned instruments
(:mod:`sing.models.blend`) is a point between rows of the instrument lookup table.
"""

from __future__ import annotations

import torch
from torch import nn

from sing.models.config import SingConfig

#: LSTM state: (h, c), each Tensor[num_layers, B, hidden_size].
State = tuple[torch.Tensor, torch.Tensor]


class SequenceGenerator(nn.Module):
    """Lookup tables + time embedding + LSTM + linear layer to frames."""

    def __init__(self, config: SingConfig) -> None:
        super().__init__()
        self.config = config
        self.num_steps = config.num_frames
        self.velocity_embedding = nn.Embedding(config.num_velocities, config.velocity_dim)
        self.instrument_embedding = nn.Embedding(config.num_instruments, config.instrument_dim)
        self.pitch_embedding = nn.Embedding(config.num_pitches, config.pitch_dim)
        self.time_embedding = (
            nn.Embedding(self.num_steps, config.time_dim) if config.time_embedding else None
        )
        self.lstm = nn.LSTM(
            config.input_dim, config.hidden_size, num_layers=config.num_layers, batch_first=True
        )
        self.output = nn.Linear(config.hidden_size, config.frame_dim)

    def inputs(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        start: int = 0,
        length: int | None = None,
        instrument_embedding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The LSTM input of steps ``[start, start + length)``.

        Args:
            instrument, pitch, velocity: LongTensor[B] (model indices; pitch is MIDI).
                ``instrument`` may be None when ``instrument_embedding`` is given.
            instrument_embedding: Tensor[B, instrument_dim] used instead of looking
                ``instrument`` up (a row of the table gives exactly the looked-up input).
        Returns:
            Tensor[B, length, input_dim] (input_dim = 30 for the paper).
        """
        if length is None:
            length = self.num_steps - start
        if start < 0 or length < 1 or start + length > self.num_steps:
            raise ValueError(
                f"window [{start}, {start + length}) outside the {self.num_steps} steps of a note"
            )
        if instrument_embedding is None:
            if instrument is None:
                raise ValueError("give instrument indices or an instrument_embedding")
            instrument_embedding = self.instrument_embedding(instrument)
        elif instrument_embedding.shape != (pitch.shape[0], self.config.instrument_dim):
            raise ValueError(
                f"instrument_embedding must be [B={pitch.shape[0]}, "
                f"{self.config.instrument_dim}], not {list(instrument_embedding.shape)}"
            )
        weight = self.velocity_embedding.weight
        symbols = torch.cat(
            [
                self.velocity_embedding(velocity),
                instrument_embedding.to(device=weight.device, dtype=weight.dtype),
                self.pitch_embedding(pitch),
            ],
            dim=1,
        )
        x = symbols.unsqueeze(1).expand(-1, length, -1)
        if self.time_embedding is not None:
            steps = torch.arange(start, start + length, device=symbols.device)
            time = self.time_embedding(steps).unsqueeze(0).expand(x.shape[0], -1, -1)
            x = torch.cat([x, time], dim=2)
        return x

    def forward(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        start: int = 0,
        length: int | None = None,
        state: State | None = None,
        instrument_embedding: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, State]:
        """Frames of steps ``[start, start + length)`` (default: from ``start`` to the end).

        Args:
            instrument, pitch, velocity: LongTensor[B].
            start: first step (indexes the time embedding).
            length: number of steps; ``None`` runs to the end of the note (265 steps).
            state: LSTM state carried from the previous window, or ``None`` for zeros.
            instrument_embedding: Tensor[B, instrument_dim] instead of ``instrument``
                (see :meth:`inputs`).
        Returns:
            (frames Tensor[B, frame_dim, length], state (h, c) each [num_layers, B, hidden]).
        """
        x = self.inputs(instrument, pitch, velocity, start, length, instrument_embedding)
        hidden, state = self.lstm(x, state)
        frames = self.output(hidden)
        return frames.transpose(1, 2), state
