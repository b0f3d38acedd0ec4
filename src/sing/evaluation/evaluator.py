"""Evaluate a model on a split: the paper's metrics, pitch accuracy and the two references.

For every note of the split the model generates the note from its symbols (SING) or
reconstructs it from its waveform (an autoencoder); the *resample* reference plays the
nearest-pitch training note of the same instrument and velocity at the requested pitch; the
*ground truth* is the recording itself (zero loss, and the ceiling of pitch accuracy, since the
pitch estimator also errs on real notes). Pitch is measured by YIN, CREPE or both
(``pitch_estimator``), every system the same way. Each note also gets its frame-rate buzz (on
its held part, at the model's frame rate ``sample_rate / stride``; nan for a note whose own
harmonics beat near that rate) and its noise-floor share
against the ground truth (:mod:`sing.dsp.modulation`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sing.dsp.modulation import frame_rate_buzz_db, noise_floor_share
from sing.evaluation.aggregate import NoteRecord, aggregate
from sing.evaluation.metrics import note_metrics
from sing.evaluation.pitch import PitchResult, held_span, measure_pitch, parse_estimators
from sing.evaluation.resample import ResampleReference, pitch_shift_by_resampling

logger = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """Result of :func:`evaluate_model`.

    Attributes:
        records: one :class:`NoteRecord` per (system, note).
        results: :func:`aggregate` of the records plus ``meta``.
        audio: for the notes named in ``keep_audio``: note name -> system -> ``ndarray[T]``.
    """

    records: list[NoteRecord]
    results: dict[str, Any]
    audio: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def is_autoencoder(model: torch.nn.Module) -> bool:
    """Whether ``model`` reconstructs waveforms (has an encoder) rather than generating notes."""
    return hasattr(model, "encoder") and not hasattr(model, "generator")


def select_notes(count: int, limit: int | None, seed: int = 0) -> list[int]:
    """Indices of at most ``limit`` of ``count`` notes: a seeded random choice, in order."""
    if limit is not None and limit < 0:
        from sing.errors import SingError

        raise SingError(f"--limit must be 0 or more notes, not {limit}")
    if limit is None or limit >= count:
        return list(range(count))
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(count, size=limit, replace=False).tolist())


def build_resample_reference(dataset: Any) -> ResampleReference:
    """Index the notes of ``dataset`` (the training split) by instrument and velocity."""
    vocab = dataset.vocabulary
    notes = []
    for index, name in enumerate(dataset.names):
        instrument, pitch, velocity = vocab.encode_note(name)
        notes.append((index, instrument, pitch, velocity))
    return ResampleReference(notes)


@torch.no_grad()
def evaluate_model(
    model: torch.nn.Module,
    dataset: Any,
    reference: Any | None = None,
    *,
    device: str | torch.device = "cpu",
    batch_size: int = 8,
    limit: int | None = None,
    keep_audio: Sequence[str] = (),
    progress: bool = True,
    system: str | None = None,
    pitch_estimator: str = "yin",
    crepe_model: str | None = None,
    dtype: torch.dtype | None = None,
) -> Evaluation:
    """Evaluate ``model`` on every note of ``dataset`` (an ``NSynthDataset`` split).

    ``reference`` is the training split the resample reference draws its notes from (None:
    no resample row). ``limit`` evaluates a seeded random subset of that many notes.
    ``keep_audio`` names notes whose generated audio is returned (for the report).
    ``pitch_estimator``: ``yin``, ``crepe`` or ``both`` (:mod:`sing.evaluation.pitch`);
    ``crepe_model``: CREPE's network, ``tiny`` or ``full`` (None: ``pitch.CREPE_MODEL``).
    ``dtype``: None runs the model's own forward; a dtype (e.g. ``torch.int8``) generates the
    notes through :func:`sing.generation.generate` in it, as ``sing generate`` does.
    """
    from sing.utils.progress import progress_bar

    device = torch.device(device)
    model = model.to(device).eval()
    system = system or ("autoencoder" if is_autoencoder(model) else "sing")
    if dtype is not None and system == "autoencoder":
        from sing.errors import SingError

        raise SingError("a generation dtype is for SING models, not an autoencoder")
    vocab = dataset.vocabulary
    sample_rate = vocab.sample_rate
    estimators = parse_estimators(pitch_estimator)
    stride = getattr(getattr(model, "config", None), "stride", None)
    frame_rate = sample_rate / stride if stride else float("nan")
    resampler = build_resample_reference(reference) if reference is not None else None
    if system == "autoencoder":  # reconstructs waveforms: the symbols are not used
        instrument_map = torch.arange(vocab.num_instruments)
        velocity_map = torch.arange(vocab.num_velocities)
    else:
        instrument_map, velocity_map = symbol_maps(model, vocab, getattr(dataset, "root", None))
    keep = set(keep_audio)
    indices = select_notes(len(dataset), limit)
    if not indices:
        from sing.errors import SingError

        root = getattr(dataset, "root", None)
        why = "--limit is 0" if limit == 0 else "the split has no notes"
        raise SingError(f"nothing to evaluate: {why}",
                        None if root is None or limit == 0 else root / "split.json")
    records: list[NoteRecord] = []
    audio: dict[str, dict[str, np.ndarray]] = {}
    bar = progress_bar(total=len(indices), desc="evaluate", unit="note", disable=not progress)
    for start in range(0, len(indices), batch_size):
        items = [dataset[i] for i in indices[start : start + batch_size]]
        target = torch.stack([it["wav"] for it in items]).to(torch.float32)
        instrument = instrument_map[[it["instrument"] for it in items]]
        pitch = torch.tensor([it["pitch"] for it in items], dtype=torch.long)
        velocity = velocity_map[[it["velocity"] for it in items]]
        if system == "autoencoder":
            estimate = model(target.to(device))
        elif dtype is not None:
            from sing.generation import Note, generate

            notes = [Note("", int(i), int(p), int(v))
                     for i, p, v in zip(instrument, pitch, velocity, strict=True)]
            estimate = generate(model, notes, batch_size=batch_size, dtype=dtype)
        else:
            estimate = model(instrument.to(device), pitch.to(device), velocity.to(device))
        estimate = estimate.float().cpu()[..., : target.shape[-1]]
        outputs: dict[str, torch.Tensor] = {system: estimate}
        if resampler is not None:
            outputs["resample"] = _resample_batch(resampler, reference, items, target.shape[-1])
        outputs["ground_truth"] = target
        for name, wavs in outputs.items():
            losses = note_metrics(wavs, target)
            for j, it in enumerate(items):
                wav = wavs[j].numpy()
                pitches = {
                    e: (measure_pitch(wav, sample_rate, it["pitch"], e, device=str(device),
                                      crepe_model=crepe_model)
                        if np.any(wav) else PitchResult(float("nan"), float("nan")))
                    for e in estimators
                }
                start, end = held_span(len(wav), sample_rate)
                artefacts = {
                    "buzz_db": (frame_rate_buzz_db(wav, sample_rate, frame_rate, start, end,
                                                   pitches=[int(it["pitch"])])
                                if np.isfinite(frame_rate) else float("nan")),
                    "noise_floor": noise_floor_share(wav, target[j].numpy()),
                }
                records.append(_record(name, it, vocab, losses, j, pitches, artefacts))
                if it["name"] in keep:
                    audio.setdefault(it["name"], {})[name] = wav.copy()
        bar.update(len(items))
    bar.close()
    results = aggregate(records)
    results["meta"] = {"notes": len(indices), "system": system}
    return Evaluation(records=records, results=results, audio=audio)


def symbol_maps(
    model: torch.nn.Module, vocab: Any, root: Any = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maps from the dataset's instrument / velocity indices to the model's (by name and
    value): ``(LongTensor[num_instruments], LongTensor[num_velocities])``.

    Raises :class:`SingError` naming the data folder when the model does not know an
    instrument or a velocity of the data.
    """
    from sing.errors import SingError

    model_vocab = getattr(model, "vocabulary", None) or vocab
    instruments, velocities = [], []
    for name in vocab.instruments:
        if name not in model_vocab.instruments:
            raise SingError(f"the model was not trained on instrument '{name}' of this data "
                            "set (evaluate on the data set it was trained on)", root)
        instruments.append(model_vocab.instruments.index(name))
    for v in vocab.velocities:
        if v not in model_vocab.velocities:
            raise SingError(f"the model does not know velocity {v} of this data set", root)
        velocities.append(model_vocab.velocities.index(v))
    return torch.tensor(instruments, dtype=torch.long), torch.tensor(velocities, dtype=torch.long)


def _resample_batch(
    resampler: ResampleReference, reference: Any, items: list[dict[str, Any]], length: int
) -> torch.Tensor:
    out = torch.zeros(len(items), length)
    for j, it in enumerate(items):
        source = resampler.source(it["instrument"], it["pitch"], it["velocity"])
        if source is None:
            continue
        wav = reference[source.index]["wav"].numpy()
        shifted = pitch_shift_by_resampling(wav, it["pitch"] - source.pitch)
        n = min(length, len(shifted))
        out[j, :n] = torch.from_numpy(shifted[:n])
    return out


def _record(
    system: str, item: dict[str, Any], vocab: Any, losses: dict[str, torch.Tensor], j: int,
    pitches: dict[str, PitchResult], artefacts: dict[str, float],
) -> NoteRecord:
    yin, crepe = pitches.get("yin"), pitches.get("crepe")
    nan = float("nan")
    return NoteRecord(
        system=system,
        name=item["name"],
        instrument=vocab.instruments[item["instrument"]],
        family=vocab.families[item["instrument"]],
        pitch=int(item["pitch"]),
        velocity=int(vocab.velocities[item["velocity"]]),
        spectral_l1=float(losses["spectral_l1"][j]),
        spectral_mse=float(losses["spectral_mse"][j]),
        wav_mse=float(losses["wav_mse"][j]),
        wav_l1=float(losses["wav_l1"][j]),
        loud_l1=float(losses["loud_l1"][j]),
        f0_hz=yin.f0_hz if yin else nan,
        cents=yin.cents if yin else nan,
        pitch_correct=yin.correct if yin else None,
        pitch_correct_octave=yin.correct_ignoring_octave if yin else None,
        buzz_db=artefacts["buzz_db"],
        noise_floor=artefacts["noise_floor"],
        crepe_f0_hz=crepe.f0_hz if crepe else nan,
        crepe_cents=crepe.cents if crepe else nan,
        crepe_correct=crepe.correct if crepe else None,
        crepe_correct_octave=crepe.correct_ignoring_octave if crepe else None,
    )
