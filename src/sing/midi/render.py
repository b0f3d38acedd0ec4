"""A MIDI file played by a SING model: plan, generate, mix, write.

1. :func:`plan_render`: each MIDI note becomes a key (instrument or blend, pitch, velocity
   index): the program's instrument (:mod:`sing.midi.programs`), the model's nearest velocity,
   the pitch shifted by octaves into the model's range when outside it (with a warning).
2. :func:`generate_plan`: each distinct key is generated once, in batches, by
   :func:`sing.generation.generate` (the one generation path).
3. :func:`mix_plan`: each note is cut or sustained to its length and released
   (:func:`sing.midi.envelope.fit_note`) and added at its start time.
4. :func:`finish_mix`: resampled with soxr when another rate is asked for, then normalised to
   a peak of -1 dBFS (no clipping, whatever the number of voices).
5. :func:`sing.data.wav.write_wav`: 16-bit PCM WAV, written atomically (nothing half-written);
   ``sing render`` (:func:`render_file`) mixes, resamples and writes in blocks instead
   (:mod:`sing.midi.stream`: memory bounded by the notes sounding at once).

:func:`render_file` does all of it for a model file and a MIDI file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sing.errors import SingError
from sing.midi.envelope import fit_note, samples_read
from sing.midi.programs import program_instruments
from sing.midi.reader import Score, read_midi
from sing.midi.stream import MIX_PEAK
from sing.models.blend import InstrumentSpec, Weights

if TYPE_CHECKING:  # torch only where a torch model renders (not float32 on the CPU)
    import torch

logger = logging.getLogger(__name__)

#: Share of a note that the training notes' key was held, when the model does not say.
DEFAULT_HOLD_FRACTION = 0.75

#: A note to generate: (instrument or blend weights, MIDI pitch, velocity index).
Key = tuple[Weights, int, int]


@dataclass
class RenderPlan:
    """What to generate and where each MIDI note goes.

    Attributes:
        keys: the distinct notes to generate. note_keys: for each of ``score.notes``, the index
        of its key. hold: samples the training notes' key was held. sample_rate: the model's.
        shifted: (program, pitch) -> played pitch, for pitches moved by octaves.
    """

    score: Score
    keys: list[Key]
    note_keys: list[int]
    hold: int
    sample_rate: int
    shifted: dict[tuple[int, int], int] = field(default_factory=dict)


def model_hold(model: Any) -> int:
    """Samples the model's training notes were held before their release: the vocabulary's
    ``hold`` (seconds, as ``sing dataset build --hold`` takes it), else
    ``DEFAULT_HOLD_FRACTION`` of the note (NSynth's 3 s of 4)."""
    vocabulary = model.vocabulary
    if vocabulary.hold is not None and vocabulary.hold > 0:
        return min(int(round(vocabulary.hold * vocabulary.sample_rate)), vocabulary.note_length)
    return int(DEFAULT_HOLD_FRACTION * vocabulary.note_length)


def _nearest_velocity(velocities: tuple[int, ...], velocity: int) -> int:
    return min(range(len(velocities)), key=lambda i: (abs(velocities[i] - velocity),
                                                      -velocities[i]))


def _fit_pitch(pitch: int, lo: int, hi: int) -> int | None:
    """``pitch`` moved by octaves into ``[lo, hi]``; None when no octave of it lies there (a
    model narrower than an octave): such a note is never played at a pitch the model lacks."""
    while pitch < lo and pitch + 12 <= 127:
        pitch += 12
    while pitch > hi and pitch - 12 >= 0:
        pitch -= 12
    return pitch if lo <= pitch <= hi else None


def plan_render(
    model: Any,
    score: Score,
    program_map: Mapping[int, InstrumentSpec] | None = None,
    instrument: InstrumentSpec | None = None,
    hold: int | None = None,
) -> RenderPlan:
    """The distinct notes to generate for ``score`` and each MIDI note's key.

    Raises :class:`SingError` naming the MIDI file when it has no notes, only drums, or a
    program the model cannot play without ``program_map`` / ``instrument``.
    """
    vocabulary = model.vocabulary
    if not score.notes:
        if score.drum_notes:
            raise SingError(f"only drums ({score.drum_notes} notes on channel 10, which SING "
                            "does not play): nothing to render", score.path)
        raise SingError("no notes to render", score.path)
    try:
        instruments = program_instruments(vocabulary, score.programs, program_map, instrument)
    except SingError as err:
        raise SingError(str(err), score.path) from None
    lo, hi = vocabulary.pitch_min, vocabulary.pitch_max
    index: dict[Key, int] = {}
    plan = RenderPlan(score, [], [], hold if hold is not None else model_hold(model),
                      vocabulary.sample_rate)
    unplayable = [n for n in score.notes if _fit_pitch(n.pitch, lo, hi) is None]
    if unplayable:
        missing = sorted({n.pitch for n in unplayable})
        if len(unplayable) == len(score.notes):
            raise SingError(f"no note can be played: no octave of its pitches "
                            f"({', '.join(map(str, missing[:8]))}) lies in the model's range "
                            f"{lo}-{hi}", score.path)
        logger.warning("%s: skipped %d notes whose pitches (%s%s) have no octave in the "
                       "model's range %d-%d", score.path, len(unplayable),
                       ", ".join(map(str, missing[:8])), ", ..." if len(missing) > 8 else "",
                       lo, hi)
        score = dataclasses.replace(score, notes=[n for n in score.notes
                                                  if _fit_pitch(n.pitch, lo, hi) is not None])
        plan.score = score
    for note in score.notes:
        pitch = _fit_pitch(note.pitch, lo, hi)
        assert pitch is not None
        if pitch != note.pitch:
            plan.shifted[(note.program, note.pitch)] = pitch
        velocity = _nearest_velocity(vocabulary.velocities, note.velocity)
        key = (instruments[note.program], pitch, velocity)
        if key not in index:
            index[key] = len(plan.keys)
            plan.keys.append(key)
        plan.note_keys.append(index[key])
    if plan.shifted:
        shown = ", ".join(f"{p}->{q}" for (_, p), q in sorted(plan.shifted.items())[:8])
        logger.warning("%s: %d pitches outside the model's range %d-%d were moved by octaves "
                       "(%s%s)", score.path, len(plan.shifted), lo, hi, shown,
                       ", ..." if len(plan.shifted) > 8 else "")
    if score.drum_notes:
        logger.warning("%s: skipped %d drum notes (channel 10)", score.path, score.drum_notes)
    return plan


#: Progress callback: ``progress(notes generated just now, distinct notes in all)``.
Progress = Callable[[int, int], None]


def generate_plan(
    model: Any,
    plan: RenderPlan,
    batch_size: int = 64,
    dtype: torch.dtype | str = "float32",
    progress: Progress | None = None,
    backend: str = "auto",
) -> torch.Tensor | np.ndarray:
    """Generate each distinct key once (:func:`sing.generation.generate`).

    Only the samples the notes will use are decoded on the fast path
    (:func:`sing.midi.envelope.samples_read`: a note played shorter than the hold skips the
    decoder between its note-off and the release). ``progress(n, total)`` is called after
    each batch.

    ``model`` is a torch SING or a :class:`~sing.models.numpy_sing.NumpySING`.

    Returns:
        float32 Tensor[K, T] on the CPU (an ndarray for a NumpySING), clamped to [-1, 1]
        (K = ``len(plan.keys)``); samples no note reads are not meaningful on the fast and
        NumPy paths.
    """
    from sing.generation import generate, note_from_weights

    durations: list[list[int]] = [[] for _ in plan.keys]
    for note, k in zip(plan.score.notes, plan.note_keys, strict=True):
        durations[k].append(int(round(note.duration * plan.sample_rate)))
    length = model.vocabulary.note_length
    ranges = [samples_read(d, plan.hold, length, plan.sample_rate) for d in durations]
    notes = [note_from_weights(w, p, v) for w, p, v in plan.keys]
    total = len(notes)
    return generate(model, notes, batch_size=batch_size, dtype=dtype, backend=backend,
                    ranges=ranges,
                    progress=None if progress is None else lambda n: progress(n, total))


def mix_plan(plan: RenderPlan, waves: torch.Tensor | np.ndarray) -> np.ndarray:
    """Every note of the score, fitted to its length and released, added at its start.

    Args:
        waves: float32 Tensor or ndarray [K, T] on the CPU, the generated keys
            (:func:`generate_plan`).
    Returns:
        float32 ndarray[N] at ``plan.sample_rate`` (not normalised).
    """
    rate = plan.sample_rate
    notes = np.asarray(waves)
    # a fitted note is at most its duration + the note length long: one buffer, each note
    # added as soon as it is fitted (memory: the mix, not every note)
    bound = max(int(round(n.start * rate)) + int(round(n.duration * rate))
                for n in plan.score.notes) + notes.shape[1]
    mix = np.zeros(max(bound, int(round(plan.score.length * rate))), dtype=np.float32)
    end = int(round(plan.score.length * rate))
    for note, k in zip(plan.score.notes, plan.note_keys, strict=True):
        start = int(round(note.start * rate))
        duration = int(round(note.duration * rate))
        wav = fit_note(notes[k], duration, plan.hold, rate, pitch=plan.keys[k][1])
        mix[start : start + len(wav)] += wav
        end = max(end, start + len(wav))
    return mix[:end]


def finish_mix(mix: np.ndarray, rate: int, sample_rate: int | None = None,
               peak: float = MIX_PEAK) -> tuple[np.ndarray, int]:
    """Resample (soxr, high quality) to ``sample_rate`` if given, then scale to ``peak``.

    Returns:
        (float32 ndarray[N'] with max |x| = ``peak`` (or all zeros), the sample rate).
    """
    out_rate = int(sample_rate or rate)
    if out_rate != rate:
        import soxr

        mix = soxr.resample(mix.astype(np.float32), rate, out_rate, quality="HQ")
    top = float(np.abs(mix).max()) if len(mix) else 0.0
    if top > 0:
        mix = mix * (peak / top)
    return mix.astype(np.float32), out_rate


def render_score(
    model: Any,
    score: Score,
    sample_rate: int | None = None,
    program_map: Mapping[int, InstrumentSpec] | None = None,
    instrument: InstrumentSpec | None = None,
    batch_size: int = 64,
    dtype: torch.dtype | str = "float32",
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Plan, generate, mix and finish: (float32 ndarray[N] peak-safe, sample rate)."""
    plan = plan_render(model, score, program_map, instrument)
    waves = generate_plan(model, plan, batch_size=batch_size, dtype=dtype, progress=progress)
    mix, rate = finish_mix(mix_plan(plan, waves), plan.sample_rate, sample_rate)
    logger.info("%s: %.1f s at %d Hz, %d notes (%d distinct generated)", score.path,
                len(mix) / rate, rate, len(score.notes), len(plan.keys))
    return mix, rate


def render_file(
    model_path: str | Path | None,
    midi_path: str | Path,
    out_wav: str | Path,
    sample_rate: int | None = None,
    program_map: Mapping[int, InstrumentSpec] | None = None,
    instrument: InstrumentSpec | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 64,
    dtype: torch.dtype | str = "float32",
    progress: Progress | None = None,
) -> Path:
    """Render ``midi_path`` with the model file ``model_path`` (None: the shipped model) to a
    16-bit WAV ``out_wav``; returns ``out_wav``. Errors are one-line :class:`SingError`.

    ``dtype`` is the compute dtype of :func:`sing.generation.generate` on ``device``. In
    float32 on the CPU a float32 / float16 file is rendered by the NumPy network
    (:func:`uses_numpy`): torch is then never imported, which is most of a short render's
    time in a fresh process.
    """
    from sing.pretrained import resolve_model_path
    from sing.utils.outputs import check_output as check
    from sing.utils.outputs import writing

    model_path = resolve_model_path(model_path)
    out_wav = check(out_wav, inputs=[midi_path, model_path], what=".wav")
    with writing(out_wav):  # the output's lock (and a killed render's temporaries removed)
        return _render_file(model_path, midi_path, out_wav, sample_rate, program_map,
                            instrument, device, batch_size, dtype, progress)


def uses_numpy(info: Any, device: Any, dtype: Any) -> bool:
    """Whether a render runs the NumPy network (:mod:`sing.models.numpy_sing`): float32 on the
    CPU, a sing model stored as float32 / float16, and torch not already imported by this
    process (then the torch fast path costs nothing extra to start and is the faster network
    on CPUs with native bfloat16 / large GEMMs)."""
    import sys

    from sing.models.numpy_sing import numpy_readable

    return (str(dtype).removeprefix("torch.") == "float32" and str(device) == "cpu"
            and numpy_readable(info) and "torch" not in sys.modules)


def load_render_model(model_path: Path, device: Any = "cpu", dtype: Any = "float32") -> Any:
    """The network a render of ``model_path`` runs: a NumpySING where :func:`uses_numpy`,
    else the torch SING on ``device`` (``.info`` set on both)."""
    from sing.models.header import read_info

    info = read_info(model_path)
    if info.kind != "sing":
        raise SingError(f"is a {info.kind} model file, a sing model is needed here", info.path)
    if uses_numpy(info, device, dtype):
        from sing.models.numpy_sing import load_numpy_model

        logger.debug("render: NumPy network (float32, CPU; torch not imported)")
        return load_numpy_model(model_path, info=info)
    from sing.models.io import load_model_file

    model, info = load_model_file(model_path, device=device, kind="sing")
    model.info = info
    return model


def _render_file(model_path: Path, midi_path: str | Path, out_wav: Path,
                 sample_rate: int | None, program_map: Mapping[int, InstrumentSpec] | None,
                 instrument: InstrumentSpec | None, device: str | torch.device,
                 batch_size: int, dtype: torch.dtype | str, progress: Progress | None) -> Path:
    score = read_midi(midi_path)
    model = load_render_model(model_path, device, dtype)
    from sing.midi.stream import check_wav_length, write_mix

    plan = plan_render(model, score, program_map, instrument)
    check_wav_length(plan, model.vocabulary.note_length, int(sample_rate or plan.sample_rate),
                     out_wav)
    waves = generate_plan(model, plan, batch_size=batch_size, dtype=dtype, progress=progress)
    rate = write_mix(out_wav, plan, waves, sample_rate)  # in blocks: memory bounded
    logger.info("%s: %d notes (%d distinct generated) -> %s at %d Hz", score.path,
                len(score.notes), len(plan.keys), out_wav, rate)
    return out_wav

