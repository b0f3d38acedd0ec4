"""The library API (apart from the command line): load a model, synthesize notes.

Example::

    import sing.api
    model = sing.api.load_model("sing.safetensors", device="cpu")  # no path: the shipped model
    wav = sing.api.synthesize(model, instrument="guitar_acoustic_009", pitch=69, velocity=100)
    blend = sing.api.synthesize(model, instrument={"guitar_acoustic_009": 0.7,
                                                   "brass_acoustic_001": 0.3}, pitch=60,
                                velocity=100)
    batch = sing.api.synthesize_batch(model, ["guitar_acoustic_009-069-100",
                                              ("brass_acoustic_001", 60, 127)])
    # wav: Tensor[T] in [-1, 1] at model.vocabulary.sample_rate; batch: Tensor[B, T]
    song = sing.api.render_midi(model, "song.mid")   # Tensor[N], the mix at the model's rate
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from sing.data.vocabulary import Vocabulary, note_name, parse_note_name
from sing.errors import SingError
from sing.models.blend import InstrumentSpec, Weights, blend_embeddings, blend_label
from sing.models.blend import resolve_instrument as _resolve_instrument
from sing.models.io import load_model as _load_model
from sing.models.sing import SING
from sing.pretrained import resolve_model_path

logger = logging.getLogger(__name__)

#: A note: an NSynth note name, or (instrument, MIDI pitch, velocity) where the instrument is
#: a name, an NSynth id, a blend string ``"a:0.7,b:0.3"`` or a blend mapping ``{"a": 0.7, ...}``.
NoteSpec = str | tuple[InstrumentSpec, int, int]


@dataclass(frozen=True)
class Note:
    """A note resolved against a vocabulary: model indices and its NSynth name."""

    name: str
    instrument: int  # model index (of the heaviest instrument, for a blend)
    pitch: int
    velocity: int  # index into vocabulary.velocities
    blend: Weights = ()  # ((model index, weight), ...) summing to 1 for a blend, else ()


def load_model(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> SING:
    """Load a SING model file in eval mode, its weights cast to ``dtype`` (float32 or
    bfloat16), with ``.vocabulary`` and ``.info`` (:class:`sing.models.io.ModelInfo`).

    ``path=None`` loads the model shipped in the package (``sing/pretrained/gm.safetensors``);
    an install without one raises :class:`SingError` ("no shipped model in this install").
    """
    model, info = _load_model(resolve_model_path(path), device=device, kind="sing")
    model.to(dtype)
    model.info = info
    return model


def resolve_note(vocabulary: Vocabulary, note: NoteSpec) -> Note:
    """Check a note against the vocabulary; unknown symbols raise :class:`SingError`."""
    if isinstance(note, str):
        instrument, pitch, velocity = parse_note_name(note)
    else:
        instrument, pitch, velocity = note
    weights = _resolve_instrument(vocabulary, instrument)
    pitch = vocabulary.check_pitch(int(pitch))
    v_index = vocabulary.velocity_index(int(velocity))
    name = note_name(blend_label(vocabulary, weights), pitch, int(velocity))
    index = max(weights, key=lambda iw: iw[1])[0]
    blend = weights if len(weights) > 1 else ()
    return Note(name=name, instrument=index, pitch=pitch, velocity=v_index, blend=blend)


def instrument_embeddings(model: SING, notes: Sequence[Note]) -> torch.Tensor | None:
    """The instrument embeddings of ``notes`` (Tensor[B, instrument_dim], float32 on the
    CPU) when any of them is a blend, else None (plain indices are enough)."""
    if not any(n.blend for n in notes):
        return None
    table = model.generator.instrument_embedding.weight.detach().float().cpu()
    return blend_embeddings(table, [n.blend or ((n.instrument, 1.0),) for n in notes])


def _vocabulary(model: SING) -> Vocabulary:
    vocabulary = getattr(model, "vocabulary", None)
    if vocabulary is None:
        raise ValueError("the model has no vocabulary: load it with sing.api.load_model")
    return vocabulary


#: Optional fast generation path, ``(model, instrument[B], pitch[B], velocity[B],
#: instrument_embedding=None) -> wav[B, T]`` (set by :mod:`sing.models.fast` or passed as
#: ``generate=``).
Generate = Callable[..., torch.Tensor]


def _default_generate(
    model: SING,
    instrument: torch.Tensor,
    pitch: torch.Tensor,
    velocity: torch.Tensor,
    instrument_embedding: torch.Tensor | None = None,
) -> torch.Tensor:
    return model(instrument, pitch, velocity, instrument_embedding=instrument_embedding)


def generate_indices(
    model: SING,
    instrument: torch.Tensor,
    pitch: torch.Tensor,
    velocity: torch.Tensor,
    batch_size: int = 64,
    generate: Generate | None = None,
    progress: Callable[[int], None] | None = None,
    instrument_embedding: torch.Tensor | None = None,
) -> torch.Tensor:
    """Generate notes from model indices, in chunks of ``batch_size``, without gradients.

    Args:
        instrument, pitch, velocity: LongTensor[B] (model indices).
        generate: the network call (default ``model(...)``), the seam for a fast path.
        progress: called with the number of notes done after each chunk.
        instrument_embedding: Tensor[B, instrument_dim] used instead of looking ``instrument``
            up (blends, :func:`instrument_embeddings`).
    Returns:
        float32 Tensor[B, T] on the CPU, clamped to [-1, 1].
    """
    generate = generate or _default_generate
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for i in range(0, instrument.shape[0], batch_size):
            chunk = slice(i, i + batch_size)
            embedding = None
            if instrument_embedding is not None:
                embedding = instrument_embedding[chunk].to(device)
            wav = generate(
                model,
                instrument[chunk].to(device),
                pitch[chunk].to(device),
                velocity[chunk].to(device),
                instrument_embedding=embedding,
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
        notes: NSynth note names or (instrument, MIDI pitch, velocity) tuples; the instrument
            is a name, an NSynth id or a blend (``{"a": 0.7, "b": 0.3}`` or ``"a:0.7,b:0.3"``).
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
        instrument_embedding=instrument_embeddings(model, resolved),
    )


def resolve_notes(vocabulary: Vocabulary, notes: Iterable[NoteSpec]) -> list[Note]:
    """:func:`resolve_note` for each note; at least one note is needed."""
    resolved = [resolve_note(vocabulary, n) for n in notes]
    if not resolved:
        raise SingError("no notes to synthesize")
    return resolved


def synthesize(
    model: SING, instrument: InstrumentSpec, pitch: int, velocity: int
) -> torch.Tensor:
    """One note: instrument by name or NSynth id, or a blend of instruments
    (``{"string_acoustic_040": 0.7, "reed_acoustic_065": 0.3}``, weights normalised), MIDI
    pitch, velocity (e.g. 100).

    Returns:
        float32 Tensor[T] in [-1, 1].
    """
    return synthesize_batch(model, [(instrument, pitch, velocity)])[0]


def render_midi(
    model: SING,
    path: str | Path,
    sample_rate: int | None = None,
    program_map: dict[int, InstrumentSpec] | None = None,
    instrument: InstrumentSpec | None = None,
    batch_size: int = 64,
    dtype: torch.dtype = torch.float32,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Play a Standard MIDI File with ``model`` (see :mod:`sing.midi`).

    Args:
        path: the MIDI file. sample_rate: resample the mix to it (default: the model's).
        program_map: GM program -> instrument (name, id or blend), for models whose
            instruments are not named after GM programs. instrument: one instrument or blend
            for every track. dtype: compute dtype of the CPU fast path.
        progress: ``progress(n, total)`` after each batch: n distinct notes just generated,
            of ``total``.
    Returns:
        float32 Tensor[N], the mix peaking at -1 dBFS, at ``sample_rate`` or the model's rate.
    """
    from sing.midi.reader import read_midi
    from sing.midi.render import render_score

    mix, _rate = render_score(model, read_midi(path), sample_rate, program_map, instrument,
                              batch_size, dtype, progress)
    return torch.from_numpy(mix)
