"""The model configuration: one dataclass, named presets (nanoGPT style).

Every size of SING lives here. ``SingConfig.preset("paper")`` is exactly the paper's network
(the project's DESIGN.md): 63.7 M parameters for the sequence generator + decoder, 265 LSTM
steps for a 64,000-sample note. ``small`` and ``tiny`` are for CPU work.

The vocabulary sizes (instruments, velocities) and the note length come from the data set::

    config = SingConfig.for_vocabulary(vocabulary, "tiny")
    # same as SingConfig.preset("tiny", num_instruments=..., num_velocities=..., note_length=...)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from sing.errors import SingError
from sing.models.frames import num_frames

if TYPE_CHECKING:
    from sing.data.vocabulary import Vocabulary


@dataclass(frozen=True)
class SingConfig:
    """All sizes of the sequence generator, the encoder and the decoder.

    Attributes:
        num_instruments / num_pitches / num_velocities: rows of the three lookup tables.
        instrument_dim / pitch_dim / velocity_dim: widths of the three lookup tables.
        time_embedding: whether the LSTM also gets a learned per-step time embedding (the
            paper's ablation turns it off).
        time_dim: width of the time embedding.
        hidden_size / num_layers: the LSTM of the sequence generator.
        frame_dim: dimension of a frame (the LSTM's output per step, the encoder's output).
        channels: inner channels of the encoder and the decoder.
        rewrite_layers: number of 1x1 ``Conv1d(channels, channels)`` + ReLU "rewrite" layers.
        context_size: kernel of the decoder's first ``Conv1d(frame_dim, channels)``.
        window: kernel of the windowed outer layers (encoder input conv, decoder output
            transposed conv), multiplied by a squared Hann window at every forward pass.
        stride: samples per frame (the outer layers' stride).
        note_length: samples per note (T).
        sample_rate: samples per second.
    """

    num_instruments: int = 1006
    num_pitches: int = 128
    num_velocities: int = 5
    instrument_dim: int = 16
    pitch_dim: int = 8
    velocity_dim: int = 2
    time_embedding: bool = True
    time_dim: int = 4
    hidden_size: int = 1024
    num_layers: int = 3
    frame_dim: int = 128
    channels: int = 4096
    rewrite_layers: int = 2
    context_size: int = 9
    window: int = 1024
    stride: int = 256
    note_length: int = 64000
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", int) and (isinstance(value, bool) or not isinstance(value, int)):
                raise SingError(f"config field {f.name} must be an integer, not {value!r}")
            if f.type in ("bool", bool) and not isinstance(value, bool):
                raise SingError(f"config field {f.name} must be true or false, not {value!r}")
        positive = [f.name for f in fields(self) if f.type in ("int", int)]
        for name in positive:
            if name != "rewrite_layers" and getattr(self, name) < 1:
                raise SingError(f"config field {name} must be >= 1, not {getattr(self, name)}")
        if self.rewrite_layers < 0:
            raise SingError(f"config field rewrite_layers must be >= 0, not {self.rewrite_layers}")
        if self.context_size % 2 != 1:
            raise SingError(f"config context_size must be odd, not {self.context_size}")
        if self.window % self.stride != 0 or self.window % 2 != 0:
            raise SingError(
                f"config window ({self.window}) must be an even multiple of stride ({self.stride})"
            )

    # -- derived sizes ------------------------------------------------------------------------
    @property
    def input_dim(self) -> int:
        """Width of the LSTM input: the concatenated lookup tables (+ time embedding): 30."""
        time = self.time_dim if self.time_embedding else 0
        return self.velocity_dim + self.instrument_dim + self.pitch_dim + time

    @property
    def num_frames(self) -> int:
        """LSTM steps (frames) for one note of ``note_length`` samples: 265 for the paper."""
        return num_frames(self.note_length, self)

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SingConfig:
        """The named preset (``paper``, ``medium``, ``small``, ``tiny``), ``overrides`` applied."""
        if name not in PRESETS:
            raise SingError(f"unknown preset '{name}' (valid: {', '.join(PRESETS)})")
        return cls.from_dict({**asdict(PRESETS[name]), **overrides})

    @classmethod
    def for_vocabulary(
        cls, vocabulary: Vocabulary, preset: str = "paper", **overrides: Any
    ) -> SingConfig:
        """A preset sized for ``vocabulary``: its instruments, velocities, note length, rate.

        Pitches keep all 128 MIDI rows (the lookup table is indexed by the MIDI pitch).
        """
        sizes = {
            "num_instruments": vocabulary.num_instruments,
            "num_velocities": vocabulary.num_velocities,
            "num_pitches": max(128, vocabulary.pitch_max + 1),
            "note_length": vocabulary.note_length,
            "sample_rate": vocabulary.sample_rate,
        }
        return cls.preset(preset, **{**sizes, **overrides})

    def replace(self, **changes: Any) -> SingConfig:
        """A copy with ``changes`` applied (validated)."""
        return self.from_dict({**asdict(self), **changes})

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SingConfig:
        """Inverse of :meth:`to_dict`; unknown or ill-typed fields raise :class:`SingError`."""
        if not isinstance(d, dict):
            raise SingError(f"malformed model config (expected an object, got {type(d).__name__})")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SingError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**d)

    def to_json(self) -> str:
        """JSON string of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SingConfig:
        """Inverse of :meth:`to_json`."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise SingError(f"malformed model config JSON ({err})") from None


#: The named presets. ``paper`` is the NeurIPS 2018 network; the others are for CPUs.
PRESETS: dict[str, SingConfig] = {
    "paper": SingConfig(),
    # chosen from the learning curve in docs/results.md: small's sequence generator with a
    # wide decoder without the 1x1 rewrite layers; its 2048 windowed kernels reach the
    # harmonics far sooner per CPU minute than small's 512
    "medium": SingConfig(
        hidden_size=256, num_layers=2, frame_dim=128, channels=2048, rewrite_layers=0,
    ),
    "small": SingConfig(
        hidden_size=256, num_layers=2, frame_dim=64, channels=512,
    ),
    "tiny": SingConfig(
        instrument_dim=8, pitch_dim=8, velocity_dim=2, time_dim=4,
        hidden_size=64, num_layers=2, frame_dim=32, channels=64,
    ),
}
