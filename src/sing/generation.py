"""How a note is generated: the one path every caller takes.

``sing generate``, ``sing render``, :mod:`sing.api` (``synthesize``, ``render_midi``), the
SoundFont export and the web app all call :func:`generate`::

    notes = resolve_notes(model.vocabulary, ["guitar_acoustic_009-069-100",
                                             ("string_acoustic_040:0.7,reed_acoustic_065:0.3",
                                              60, 100)])
    wav = generate(model, notes, batch_size=64)      # float32 Tensor[B, T] in [-1, 1], CPU

1. :func:`resolve_note` checks a note's symbols against the model's vocabulary (an instrument
   may be a blend: :mod:`sing.models.blend`) and gives a :class:`Note` of model indices.
2. :func:`choose_backend` picks the network that runs: ``"fast"``
   (:class:`sing.models.fast.FastSING`: the same weights as GEMMs, the CPU's fast path) or
   ``"reference"`` (the model's own ``forward``), by what the CPU has and, where that does not
   settle it, by timing both once (:func:`measured_backend`). ``backend="auto"`` asks it; the
   choice is logged at debug level (``sing -v``). A :class:`sing.models.numpy_sing.NumpySING`
   (loaded without torch: ``sing render`` in float32 on the CPU) runs ``"numpy"``, its only
   network; ``backend="numpy"`` runs a torch model's NumPy copy.
3. :func:`generate` runs it in chunks of ``batch_size`` without gradients; a blend's
   instrument embedding is the weighted mean of its rows. ``ranges`` lets a caller that uses
   only parts of each note (``sing render``) skip the decoder elsewhere on the fast path.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sing.data.vocabulary import Vocabulary, note_name, parse_note_name
from sing.errors import SingError
from sing.models.blend import InstrumentSpec, Weights, blend_embeddings, blend_label
from sing.models.blend import resolve_instrument as _resolve_instrument

if TYPE_CHECKING:  # torch is imported when a torch model generates: a NumpySING never needs it
    import numpy as np
    import torch

    from sing.models.numpy_sing import NumpySING
    from sing.models.sing import SING

logger = logging.getLogger(__name__)

#: A note: an NSynth note name, or (instrument, MIDI pitch, velocity) where the instrument is
#: a name, an NSynth id, a blend string ``"a:0.7,b:0.3"`` or a blend mapping ``{"a": 0.7, ...}``.
NoteSpec = str | tuple[InstrumentSpec, int, int]

#: The networks :func:`generate` can run.
BACKENDS = ("auto", "fast", "reference", "numpy")

#: ``progress(notes just generated)``, called after each chunk.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Note:
    """A note resolved against a vocabulary: model indices and its NSynth name."""

    name: str
    instrument: int  # model index (of the heaviest instrument, for a blend)
    pitch: int
    velocity: int  # index into vocabulary.velocities
    blend: Weights = ()  # ((model index, weight), ...) summing to 1 for a blend, else ()

    @property
    def weights(self) -> Weights:
        """The instrument as blend weights (``((instrument, 1.0),)`` for a plain one)."""
        return self.blend or ((self.instrument, 1.0),)


def resolve_note(vocabulary: Vocabulary, note: NoteSpec) -> Note:
    """Check a note against the vocabulary; unknown symbols raise :class:`SingError`."""
    from sing import checks

    if isinstance(note, str):
        instrument, pitch, velocity = parse_note_name(note)
    elif isinstance(note, tuple | list) and len(note) == 3:
        instrument, pitch, velocity = note
        instrument = checks.instrument_spec(instrument)
        pitch = checks.whole_number(pitch, "pitch", 0, 127)
        velocity = checks.whole_number(velocity, "velocity", 1, 127)
    else:
        raise SingError("a note is an NSynth note name or (instrument, MIDI pitch, velocity), "
                        f"not {note!r:.60}")
    weights = _resolve_instrument(vocabulary, instrument)
    pitch = vocabulary.check_pitch(int(pitch))
    v_index = vocabulary.velocity_index(int(velocity))
    name = note_name(blend_label(vocabulary, weights), pitch, int(velocity))
    return note_from_weights(weights, pitch, v_index, name)


def note_from_weights(weights: Weights, pitch: int, velocity: int, name: str = "") -> Note:
    """A :class:`Note` from resolved blend weights, a MIDI pitch and a velocity index."""
    index = max(weights, key=lambda iw: iw[1])[0]
    blend = weights if len(weights) > 1 else ()
    return Note(name=name, instrument=index, pitch=pitch, velocity=velocity, blend=blend)


def resolve_notes(vocabulary: Vocabulary, notes: Iterable[NoteSpec]) -> list[Note]:
    """:func:`resolve_note` for each note; at least one note is needed."""
    resolved = [resolve_note(vocabulary, n) for n in notes]
    if not resolved:
        raise SingError("no notes to synthesize")
    return resolved


def instrument_embeddings(model: SING | NumpySING, notes: Sequence[Note]
                          ) -> torch.Tensor | np.ndarray | None:
    """The instrument embeddings of ``notes`` (Tensor[B, instrument_dim], float32 on the
    CPU; an ndarray for a NumpySING) when any of them is a blend, else None (plain indices
    are enough)."""
    if not any(n.blend for n in notes):
        return None
    if _is_numpy_model(model):
        table = model.instrument_table
    else:
        table = model.generator.instrument_embedding.weight.detach().float().cpu()
    return blend_embeddings(table, [n.weights for n in notes])


def _is_numpy_model(model: Any) -> bool:
    from sing.models.numpy_sing import NumpySING

    return isinstance(model, NumpySING)


def choose_backend(device: torch.device, dtype: torch.dtype, batch_size: int,
                   model: SING | None = None, masked: bool = False) -> str:
    """The network :func:`generate` runs with ``backend="auto"``; the one place it is chosen.

    * not the CPU: ``"reference"`` (the model's ``forward``, cuDNN / cuBLAS);
    * the CPU with native bfloat16 (AVX-512 BF16 / AMX), a dtype below float32 (the CPU's
      reference path computes float32: oneDNN has no bf16 LSTM on every CPU; int8 exists only
      on the fast path), or a caller that decodes only parts of its notes (``masked``:
      ``sing render``): ``"fast"``;
    * any other CPU (e.g. AVX2 only, where the fast path can lose to the plain forward at
      small batches): measured, once per model, dtype and batch size class, by timing both
      on a probe batch (:func:`measured_backend`).
    """
    import torch

    from sing.models.fast import cpu_has_native_bf16

    if device.type != "cpu":
        return "reference"
    if masked or dtype != torch.float32 or cpu_has_native_bf16() or model is None:
        return "fast"  # on the CPU only the fast path computes in bfloat16 / float16
    return measured_backend(model, dtype, batch_size)


#: Batch size classes of the measured choice: 1, 2-7, 8-31, 32+.
_CLASSES = (1, 2, 8, 32)
_MEASURED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def measured_backend(model: SING, dtype: torch.dtype, batch_size: int) -> str:
    """``"fast"`` or ``"reference"``, whichever generated a probe batch faster on this CPU
    (best of two timings each, after a warm-up); remembered per model, dtype and class of
    ``batch_size``, so each choice costs a few probe notes once."""
    import time

    import torch

    size = max(c for c in _CLASSES if c <= max(1, batch_size))
    key = (dtype, size, _weights_version(model))
    with _FAST_LOCK:
        known = _MEASURED.setdefault(model, {})
        if key in known:
            return known[key]
    probe = min(size, 8)
    args = tuple(torch.zeros(probe, dtype=torch.long) for _ in range(3))
    pitch = model.vocabulary.pitch_min if getattr(model, "vocabulary", None) else 60
    args = (args[0], torch.full((probe,), pitch, dtype=torch.long), args[2])
    fast = fast_copy(model, dtype)
    timings = {}
    with torch.inference_mode():
        for name in ("fast", "reference"):
            best = float("inf")
            for _ in range(3):  # the first call warms up (packing, allocation)
                start = time.perf_counter()
                if name == "fast":
                    fast(*args)
                else:
                    model(*args)
                best = min(best, time.perf_counter() - start)
            timings[name] = best
    choice = min(timings, key=timings.get)
    logger.debug("generation: measured fast %.4f s, reference %.4f s for %d notes (%s, batch "
                 "class %d): %s", timings["fast"], timings["reference"], probe, dtype, size,
                 choice)
    with _FAST_LOCK:
        _MEASURED.setdefault(model, {})[key] = choice
    return choice


# One fast copy per (model, dtype), rebuilt when the model's weights change (their in-place
# version counters move) or it moves device.
_FAST_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FAST_LOCK = threading.Lock()


def _weights_version(model: SING) -> tuple:
    return tuple((p._version, p.data_ptr(), p.dtype, p.device) for p in model.parameters())


def fast_copy(model: SING, dtype: torch.dtype | None = None):
    """The :class:`sing.models.fast.FastSING` copy of ``model`` computing in ``dtype``
    (default float32), built once and reused while the model's weights are unchanged.

    For ``torch.int8`` the parts that run in int8 are those :func:`sing.models.int8_plan.
    plan_int8` measures to keep the sound (the others float32), remembered across processes
    by :func:`sing.models.int8_plan_cache.cached_plan_int8`; the plan is logged at debug
    level."""
    import torch

    from sing.models.fast import FastSING

    dtype = torch.float32 if dtype is None else dtype
    version = _weights_version(model)
    with _FAST_LOCK:
        copies = _FAST_COPIES.setdefault(model, {})
        entry = copies.get(dtype)
        if entry is None or entry[0] != version:
            if dtype == torch.int8:
                from sing.models.int8_plan_cache import cached_plan_int8

                # the float32 copy if one is in use (else the plan builds one and drops it)
                known = copies.get(torch.float32)
                reference = known[1] if known and known[0] == version else None
                plan = cached_plan_int8(model, reference=reference)
                if not plan.parts:
                    logger.info("int8: no part of this model keeps its sound in int8 (%s); "
                                "generating in float32", plan.describe())
                entry = (version, plan.copy)
            else:
                entry = (version, FastSING(model, dtype=dtype))
            copies[dtype] = entry
        return entry[1]


def numpy_copy(model: SING) -> NumpySING:
    """The :class:`sing.models.numpy_sing.NumpySING` copy of a torch ``model``, built once and
    reused while its weights are unchanged (``backend="numpy"``)."""
    from sing.models.numpy_sing import NumpySING

    version = _weights_version(model)
    with _FAST_LOCK:
        copies = _FAST_COPIES.setdefault(model, {})
        entry = copies.get("numpy")
        if entry is None or entry[0] != version:
            entry = (version, NumpySING.from_model(model))
            copies["numpy"] = entry
        return entry[1]


def _generate_numpy(model: NumpySING, notes: Sequence[Note], batch_size: int,
                    progress: Progress | None,
                    ranges: Sequence[Sequence[tuple[int, int]]] | None) -> np.ndarray:
    """:func:`generate` on the NumPy path: float32 ndarray[B, T] clamped to [-1, 1]."""
    import numpy as np

    mask = model.position_mask([list(r) for r in ranges]) if ranges is not None else None
    embeddings = instrument_embeddings(model, notes)
    out = []
    for i in range(0, len(notes), batch_size):
        chunk = notes[i : i + batch_size]
        wav = model([n.instrument for n in chunk], [n.pitch for n in chunk],
                    [n.velocity for n in chunk],
                    instrument_embedding=None if embeddings is None
                    else embeddings[i : i + batch_size],
                    mask=None if mask is None else mask[i : i + batch_size])
        out.append(np.clip(wav, -1, 1))
        if progress is not None:
            progress(len(chunk))
    return np.concatenate(out)


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def _check_int8(device: torch.device, backend: str) -> None:
    """int8 generation is the CPU fast path's: refuse anything else in one line."""
    from sing.models.int8 import int8_available

    if device.type != "cpu":
        raise SingError(f"int8 generation runs on the CPU only, not on {device} (use float32 "
                        "or bfloat16 there)")
    if backend == "reference":
        raise SingError("int8 generation runs on the fast path only (backend 'auto' or 'fast')")
    if not int8_available():
        raise SingError("this torch build has no int8 CPU kernels (fbgemm / x86 quantized "
                        "engine): use float32 or bfloat16")


def generate(
    model: SING | NumpySING,
    notes: Sequence[Note],
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype | str = "float32",
    backend: str = "auto",
    progress: Progress | None = None,
    ranges: Sequence[Sequence[tuple[int, int]]] | None = None,
) -> torch.Tensor | np.ndarray:
    """Generate notes, in chunks of ``batch_size``, without gradients.

    Args:
        model: a SING model (``sing.api.load_model``), in eval mode, or a
            :class:`~sing.models.numpy_sing.NumpySING` (float32 on the CPU, no torch: the
            result is then an ndarray).
        notes: resolved notes (:func:`resolve_notes`).
        device: where to run (the model is moved there); default the model's device.
        dtype: compute dtype: the fast path's GEMMs from the float32 weights; the reference
            path autocasts to it on a GPU when it is lower than the model's float32 (on the CPU
            it computes in the model's own dtype). ``torch.int8`` (CPU only, fast path only):
            int8 weights and dynamically quantised activations (:mod:`sing.models.int8`) in
            the parts that keep the sound (measured once per model:
            :func:`sing.models.int8_plan.plan_int8`), float32 in the others; a note's samples
            then depend slightly on the notes batched with it (one activation scale per
            matrix product).
        backend: ``"auto"`` (:func:`choose_backend`), ``"fast"``, ``"reference"`` or
            ``"numpy"`` (the NumPy copy: :func:`numpy_copy`; float32 on the CPU only).
        progress: called with the number of notes done after each chunk.
        ranges: per note, the sample ranges ``[a, b)`` of the note that will be used; the fast
            path decodes only those (the other samples are not meaningful).
    Returns:
        float32 Tensor[B, T] on the CPU, clamped to [-1, 1] (T = the model's note length);
        a float32 ndarray for a NumpySING.
    """
    if backend not in BACKENDS:
        raise SingError(f"unknown backend '{backend}' ({', '.join(BACKENDS)})")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise SingError(f"batch_size must be an integer >= 1, not {batch_size!r}")
    if not notes:
        raise SingError("no notes to synthesize")
    if ranges is not None and len(ranges) != len(notes):
        raise SingError(f"ranges gives {len(ranges)} notes' ranges for {len(notes)} notes")
    if _is_numpy_model(model) or backend == "numpy":
        if _dtype_name(dtype) != "float32" or str(device or "cpu") != "cpu" or backend not in (
                "auto", "numpy"):
            raise SingError(f"the NumPy path generates in float32 on the CPU only, not "
                            f"{_dtype_name(dtype)} on {device or 'cpu'} with backend {backend}")
        numpy_model = model if _is_numpy_model(model) else numpy_copy(model)
        logger.debug("generation: numpy backend, cpu, float32, batch %d", batch_size)
        wav = _generate_numpy(numpy_model, notes, batch_size, progress, ranges)
        if _is_numpy_model(model):
            return wav
        import torch

        return torch.from_numpy(wav)
    import torch

    from sing import checks

    dtype = checks.compute_dtype(dtype)
    target = torch.device(device) if device is not None else next(model.parameters()).device
    if dtype == torch.int8:
        _check_int8(target, backend)  # before the model moves anywhere
    if device is not None:
        model.to(target)
    device = next(model.parameters()).device
    if backend == "auto":
        backend = choose_backend(device, dtype, min(batch_size, len(notes)), model,
                                 masked=ranges is not None)
    logger.debug("generation: %s backend, %s, %s, batch %d", backend, device, dtype, batch_size)
    fast = fast_copy(model, dtype) if backend == "fast" else None
    mask = fast.position_mask([list(r) for r in ranges]) if fast and ranges is not None else None
    model_dtype = next(model.parameters()).dtype
    autocast = (backend == "reference" and device.type != "cpu" and dtype != model_dtype
                and dtype in (torch.bfloat16, torch.float16))
    embeddings = instrument_embeddings(model, notes)
    out = []
    with torch.inference_mode():
        for i in range(0, len(notes), batch_size):
            chunk = notes[i : i + batch_size]
            instrument = torch.tensor([n.instrument for n in chunk], device=device)
            pitch = torch.tensor([n.pitch for n in chunk], device=device)
            velocity = torch.tensor([n.velocity for n in chunk], device=device)
            embedding = None
            if embeddings is not None:
                embedding = embeddings[i : i + batch_size].to(device, model_dtype)
            if fast is not None:
                wav = fast(instrument, pitch, velocity, instrument_embedding=embedding,
                           mask=None if mask is None else mask[i : i + batch_size])
            else:
                with torch.autocast(device.type, dtype=dtype, enabled=autocast):
                    wav = model(instrument, pitch, velocity, instrument_embedding=embedding)
            out.append(wav.float().clamp(-1, 1).cpu())
            if progress is not None:
                progress(len(chunk))
    return torch.cat(out)
