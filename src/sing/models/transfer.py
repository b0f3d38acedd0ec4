"""Start a SING model for one vocabulary from a trained model of another (``--init-from``).

A model trained on many instruments (the shipped General MIDI model) already knows how to
make a note of any pitch; a new data set (a folder of samples of one instrument) has its own
vocabulary: other instruments, maybe fewer velocities. :func:`transfer_weights` copies into a
freshly built target model every weight whose shape and meaning carry over:

- the decoder, the LSTM, its output layer, the time embedding and the pitch table (indexed by
  the MIDI pitch in every model) are copied whole;
- each target velocity takes the row of the same velocity in the source, or of the nearest
  one (the lower of two equally near);
- each target instrument takes the row of the source instrument of the same name; a new name
  takes the mean of the rows of the source instruments of its NSynth family, or, when the
  source has none of that family, the mean of all its rows.

Only the sizes set by the vocabulary (instruments, velocities) may differ between the two
configs; the note length and sample rate of the two vocabularies must agree (the time
embedding has one row per frame of a note). Anything else is one :class:`SingError` line
naming the source file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.models.config import PRESETS, SingConfig
from sing.models.sing import SING

#: ``--init-from shipped`` (when no file of that name is there): the shipped GM model.
SHIPPED = "shipped"
#: Config fields set by the vocabulary's sizes: the only ones a transfer may change.
VOCABULARY_SIZED = ("num_instruments", "num_velocities")
#: Preset fields that do not say which preset a config is (set from the vocabulary).
_FROM_VOCABULARY = (*VOCABULARY_SIZED, "num_pitches", "note_length", "sample_rate")


@dataclass
class Transfer:
    """What :func:`transfer_weights` did, recorded in the model file's recipe.

    Attributes:
        source: the source model file.
        copied: state-dict names copied whole.
        instruments: target instrument -> where its row came from (``"same name"``,
            ``"mean of 13 string instruments"``, ``"mean of all 128 instruments"``).
        velocities: target velocity -> the source velocity whose row it took.
    """

    source: str
    copied: list[str] = field(default_factory=list)
    instruments: dict[str, str] = field(default_factory=dict)
    velocities: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (velocity keys as strings)."""
        out = asdict(self)
        out["velocities"] = {str(k): v for k, v in self.velocities.items()}
        return out


def _preset_name(config: SingConfig) -> str | None:
    """The preset ``config`` is, sizes set by a vocabulary aside (None: none of them)."""
    own = {k: v for k, v in asdict(config).items() if k not in _FROM_VOCABULARY}
    for name, preset in PRESETS.items():
        theirs = {k: v for k, v in asdict(preset).items() if k not in _FROM_VOCABULARY}
        if own == theirs:
            return name
    return None


def check_transfer(source_config: SingConfig, source_vocabulary: Vocabulary,
                   target_config: SingConfig, target_vocabulary: Vocabulary,
                   path: str | Path, preset: str | None = None) -> None:
    """Raise :class:`SingError` (one line naming ``path``) unless a model of
    ``source_config`` / ``source_vocabulary`` can start one of ``target_config`` /
    ``target_vocabulary``: same sample rate and note length, same sizes but the vocabulary's
    instruments and velocities. ``preset`` names the target's preset in the message."""
    src, dst = source_vocabulary, target_vocabulary
    if src.sample_rate != dst.sample_rate or src.note_length != dst.note_length:
        raise SingError(
            f"its notes are {src.note_length} samples at {src.sample_rate} Hz, this data "
            f"set's {dst.note_length} at {dst.sample_rate} Hz (build the data set with the "
            f"same --duration and --sample-rate)", path)
    ours = source_config.replace(**{k: getattr(target_config, k) for k in VOCABULARY_SIZED})
    if ours != target_config:
        differ = [f"{k} {getattr(source_config, k)} vs {getattr(target_config, k)}"
                  for k in asdict(target_config)
                  if getattr(ours, k) != getattr(target_config, k)]
        name = _preset_name(source_config)
        hint = f"; train with --preset {name}" if name else ""
        target = f"preset '{preset}'" if preset else "the target config"
        raise SingError(f"its config differs from {target} sized for this data set "
                        f"({', '.join(differ)}){hint}", path)


def nearest_velocity(velocity: int, velocities: tuple[int, ...]) -> int:
    """The velocity of ``velocities`` equal or nearest to ``velocity`` (the lower on a tie)."""
    return min(velocities, key=lambda v: (abs(v - velocity), v))


def instrument_rows(source: Vocabulary, name: str, family: str) -> tuple[list[int], str]:
    """Rows of the source's instrument table that make the row of instrument ``name`` of
    ``family``, and how (the same name; the family's mean; the mean of all)."""
    if name in source.instruments:
        return [source.instruments.index(name)], "same name"
    rows = [i for i, f in enumerate(source.families) if f == family]
    if rows:
        return rows, f"mean of {len(rows)} {family} instrument(s)"
    return list(range(source.num_instruments)), f"mean of all {source.num_instruments} instruments"


@torch.no_grad()
def transfer_weights(source: SING, target: SING, path: str | Path = "",
                     preset: str | None = None) -> Transfer:
    """Copy ``source``'s weights into ``target`` (see the module's docstring); both carry
    their vocabulary. Returns what was done; raises :class:`SingError` naming ``path`` when
    the two cannot share weights (:func:`check_transfer`)."""
    if source.vocabulary is None or target.vocabulary is None:
        raise ValueError("both models need their vocabulary")
    src_vocab, dst_vocab = source.vocabulary, target.vocabulary
    check_transfer(source.config, src_vocab, target.config, dst_vocab, path, preset)
    report = Transfer(source=str(path))
    src_state = source.state_dict()
    special = {"generator.instrument_embedding.weight", "generator.velocity_embedding.weight"}
    for name, tensor in target.state_dict().items():
        if name in special:
            continue
        tensor.copy_(src_state[name])  # same config but the vocabulary's sizes: same shapes
        report.copied.append(name)
    src_instruments = source.generator.instrument_embedding.weight
    dst_instruments = target.generator.instrument_embedding.weight
    for index, (name, family) in enumerate(zip(dst_vocab.instruments, dst_vocab.families,
                                               strict=True)):
        rows, how = instrument_rows(src_vocab, name, family)
        dst_instruments[index] = src_instruments[rows].mean(dim=0)
        report.instruments[name] = how
    src_velocities = source.generator.velocity_embedding.weight
    dst_velocities = target.generator.velocity_embedding.weight
    for index, velocity in enumerate(dst_vocab.velocities):
        chosen = nearest_velocity(velocity, src_vocab.velocities)
        dst_velocities[index] = src_velocities[src_vocab.velocities.index(chosen)]
        report.velocities[velocity] = chosen
    return report
