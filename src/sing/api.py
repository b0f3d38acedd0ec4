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
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.generation import (
    Note,
    NoteSpec,
    Progress,
    generate,
    instrument_embeddings,
    resolve_note,
    resolve_notes,
)
from sing.models.blend import InstrumentSpec
from sing.models.io import load_model_file as _load_model
from sing.models.sing import SING
from sing.pretrained import resolve_model_path

logger = logging.getLogger(__name__)

__all__ = [
    "Note", "NoteSpec", "export_soundfont", "instrument_embeddings", "load_model", "render_midi",
    "resolve_note",
    "resolve_notes", "synthesize", "synthesize_batch",
]


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
    from sing import checks
    from sing.utils.device import resolve_device

    dtype = checks.model_dtype(dtype)
    device = resolve_device(device)  # one line for a GPU this machine lacks
    model, info = _load_model(resolve_model_path(path), device=device, kind="sing")
    model.to(dtype)
    model.info = info
    return model


def synthesize_batch(
    model: SING,
    notes: Sequence[NoteSpec],
    batch_size: int = 64,
    progress: Progress | None = None,
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    backend: str = "auto",
) -> torch.Tensor:
    """Synthesize several notes (:func:`sing.generation.generate`).

    Args:
        notes: NSynth note names or (instrument, MIDI pitch, velocity) tuples; the instrument
            is a name, an NSynth id or a blend (``{"a": 0.7, "b": 0.3}`` or ``"a:0.7,b:0.3"``).
        progress: called with the number of notes done after each chunk.
        device, dtype, backend: as :func:`sing.generation.generate` (``"auto"``: the CPU's
            fast path on the CPU).
    Returns:
        float32 Tensor[B, T] in [-1, 1] (T = the model's note length).
    """
    if isinstance(notes, str) or not isinstance(notes, Sequence):
        raise SingError("notes must be a list of notes (NSynth names or (instrument, pitch, "
                        f"velocity) tuples), not {type(notes).__name__}")
    resolved = resolve_notes(_vocabulary(model), notes)
    return generate(model, resolved, batch_size=batch_size, device=device, dtype=dtype,
                    backend=backend, progress=progress)


def _vocabulary(model: SING) -> Vocabulary:
    vocabulary = getattr(model, "vocabulary", None)
    if vocabulary is None:
        raise SingError("the model has no vocabulary: load it with sing.api.load_model")
    return vocabulary


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
    from sing import checks
    from sing.midi.reader import read_midi
    from sing.midi.render import render_score

    _vocabulary(model)
    sample_rate = checks.sample_rate(sample_rate)
    program_map = checks.program_map(program_map)
    if instrument is not None:
        instrument = checks.instrument_spec(instrument)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise SingError(f"batch_size must be an integer >= 1, not {batch_size!r}")
    mix, _rate = render_score(model, read_midi(path), sample_rate, program_map, instrument,
                              batch_size, dtype, progress)
    return torch.from_numpy(mix)


def export_soundfont(model: SING, out: str | Path, **options) -> Path:
    """Export ``model`` as a SoundFont (``.sf2``, ``.sf3``) or an SFZ folder (``.sfz``):
    :func:`sing.export.export_bank` (its keyword options: ``instruments``, ``blend``,
    ``blend_name``, ``pitches``, ``every``, ``velocities``, ``fmt``, ...). Returns ``out``."""
    from sing.export import export_bank

    return export_bank(model, out, **options)
