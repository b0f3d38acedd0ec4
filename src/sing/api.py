"""The library API (apart from the command line): load a model, synthesize notes.

Example::

    import sing.api
    model = sing.api.load_model("sing.safetensors", device="cpu")
    wav = sing.api.synthesize(model, instrument="guitar_acoustic_009", pitch=69, velocity=100)
    batch = sing.api.synthesize_batch(model, ["guitar_acoustic_009-069-100",
                                              ("brass_acoustic_001", 60, 127)])
    # wav: Tensor[T] in [-1, 1] at model.vocabulary.sample_rate; batch: Tensor[B, T]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from sing.data.vocabulary import Vocabulary, note_name, parse_note_name
from sing.errors import SingError
from sing.models.io import load_model as _load_model
from sing.models.sing import SING

logger = logging.getLogger(__name__)

#: A note: an NSynth note name, or (instrument name or id, MIDI pitch, velocity).
NoteSpec = str | tuple[str | int, int, int]


@dataclass(frozen=True)
class Note:
    """A note resolved against a vocabulary: model indices and its NSynth name."""

    name: str
    instrument: int
    pitch: int
    velocity: int  # index into vocabulary.velocities


def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> SING:
    """Load a SING model file in eval mode, its weights cast to ``dtype`` (float32 or
    bfloat16), with ``.vocabulary`` and ``.info`` (:class:`sing.models.io.ModelInfo`)."""
    model, info = _load_model(path, device=device, kind="sing")
    model.to(dtype)
    model.info = info
    return model


def resolve_note(vocabulary: Vocabulary, note: NoteSpec) -> Note:
    """Check a note against the vocabulary; unknown symbols raise :class:`SingError`."""
    if isinstance(note, str):
        instrument, pitch, velocity = parse_note_name(note)
    else:
        instrument, pitch, velocity = note
    index = vocabulary.instrument_index(instrument)
    pitch = vocabulary.check_pitch(int(pitch))
    v_index = vocabulary.velocity_index(int(velocity))
    name = note_name(vocabulary.instruments[index], pitch, int(velocity))
    return Note(name=name, instrument=index, pitch=pitch, velocity=v_index)


def _vocabulary(model: SING) -> Vocabulary:
    vocabulary = getattr(model, "vocabulary", None)
    if vocabulary is None:
        raise ValueError("the model has no vocabulary: load it with sing.api.load_model")
    return vocabulary


#: Optional fast generation path, ``(model, instrument[B], pitch[B], velocity[B]) -> wav[B, T]``
#: (set by :mod:`sing.models.fast` or passed as ``generate=``).
Generate = Callable[[SING, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _default_generate(
    model: SING, instrument: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor
) -> torch.Tensor:
    return model(instrument, pitch, velocity)


def generate_indices(
    model: SING,
    instrument: torch.Tensor,
    pitch: torch.Tensor,
    velocity: torch.Tensor,
    batch_size: int = 64,
    generate: Generate | None = None,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Generate notes from model indices, in chunks of ``batch_size``, without gradients.

    Args:
        instrument, pitch, velocity: LongTensor[B] (model indices).
        generate: the network call (default ``model(...)``), the seam for a fast path.
        progress: called with the number of notes done after each chunk.
    Returns:
        float32 Tensor[B, T] on the CPU, clamped to [-1, 1].
    """
    generate = generate or _default_generate
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for i in range(0, instrument.shape[0], batch_size):
            chunk = slice(i, i + batch_size)
            wav = generate(
                model,
                instrument[chunk].to(device),
                pitch[chunk].to(device),
                velocity[chunk].to(device),
            )
            out.append(wav.float().clamp(-1, 1).cpu())
            if progress is not None:
                progress(wav.shape[0])
    return torch.cat(out)


def synthesize_batch(
    model: SING,
    notes: Sequence[NoteSpec],
    batch_size: int = 64,
    generate: Generate | None = None,
    progress: Callable[[int], None] | None = None,
    fast: bool = False,
) -> torch.Tensor:
    """Synthesize several notes.

    Args:
        notes: NSynth note names or (instrument name or id, MIDI pitch, velocity) tuples.
        fast: use :class:`sing.models.fast.FastSING` in the model's dtype (cast the model to
            bfloat16 first for the fastest CPU path) when no ``generate`` is given.
    Returns:
        float32 Tensor[B, T] in [-1, 1] (T = the model's note length).
    """
    resolved = resolve_notes(_vocabulary(model), notes)
    if fast and generate is None:
        from sing.models.fast import fast_generate

        generate = fast_generate(next(model.parameters()).dtype)
    return generate_indices(
        model,
        torch.tensor([n.instrument for n in resolved], dtype=torch.long),
        torch.tensor([n.pitch for n in resolved], dtype=torch.long),
        torch.tensor([n.velocity for n in resolved], dtype=torch.long),
        batch_size=batch_size,
        generate=generate,
        progress=progress,
    )


def resolve_notes(vocabulary: Vocabulary, notes: Iterable[NoteSpec]) -> list[Note]:
    """:func:`resolve_note` for each note; at least one note is needed."""
    resolved = [resolve_note(vocabulary, n) for n in notes]
    if not resolved:
        raise SingError("no notes to synthesize")
    return resolved


def synthesize(
    model: SING, instrument: str | int, pitch: int, velocity: int
) -> torch.Tensor:
    """One note: instrument by name or NSynth id, MIDI pitch, velocity (e.g. 100).

    Returns:
        float32 Tensor[T] in [-1, 1].
    """
    return synthesize_batch(model, [(instrument, pitch, velocity)])[0]
