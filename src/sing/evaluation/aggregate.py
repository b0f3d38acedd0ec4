"""Per-note evaluation records, their averages per system and per instrument family.

A *system* is what produced the notes: ``sing`` (the model), ``resample`` (the sampler
reference) or ``ground_truth`` (the recording itself, the ceiling of pitch accuracy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

#: The paper's metrics (reference code names), in table order, and the loud-bin error.
LOSS_METRICS: tuple[str, ...] = ("spectral_l1", "spectral_mse", "wav_mse", "wav_l1", "loud_l1")
#: Artefacts (sing.dsp.modulation): frame-rate buzz (dB) and noise-floor share (0-1).
ARTEFACT_METRICS: tuple[str, ...] = ("buzz_db", "noise_floor")
#: Pitch metrics (shares of notes, 0-1): YIN's (``pitch_accuracy``) and CREPE's.
PITCH_METRICS: tuple[str, ...] = ("pitch_accuracy", "pitch_accuracy_octave",
                                  "pitch_accuracy_crepe", "pitch_accuracy_crepe_octave")
METRICS: tuple[str, ...] = LOSS_METRICS + ARTEFACT_METRICS + PITCH_METRICS
#: Order of the systems in tables.
SYSTEM_ORDER: tuple[str, ...] = ("sing", "autoencoder", "resample", "ground_truth")


@dataclass(frozen=True)
class NoteRecord:
    """Metrics of one generated note against its ground truth.

    Loss metrics are nan where they do not apply (e.g. a reference without a source note).
    ``f0_hz`` / ``cents`` / ``pitch_correct*`` are YIN's, ``crepe_*`` CREPE's; an estimator
    that was not run leaves nan and None.
    """

    system: str
    name: str
    instrument: str
    family: str
    pitch: int
    velocity: int
    spectral_l1: float
    spectral_mse: float
    wav_mse: float
    wav_l1: float
    f0_hz: float
    cents: float
    pitch_correct: bool | None
    pitch_correct_octave: bool | None
    #: mean |log-power difference| over the ground truth's loud bins (sing.evaluation.metrics)
    loud_l1: float = float("nan")
    #: frame-rate buzz of the held part (dB) and the noise-floor share against the ground truth
    buzz_db: float = float("nan")
    noise_floor: float = float("nan")
    crepe_f0_hz: float = float("nan")
    crepe_cents: float = float("nan")
    crepe_correct: bool | None = None
    crepe_correct_octave: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (nan becomes None)."""
        return {k: _json_number(v) for k, v in asdict(self).items()}


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def _share(values: Sequence[bool | None]) -> float:
    measured = [v for v in values if v is not None]
    return sum(measured) / len(measured) if measured else float("nan")


#: Pitch metric -> the NoteRecord field it is the share of.
_PITCH_FIELDS = {"pitch_accuracy": "pitch_correct", "pitch_accuracy_octave": "pitch_correct_octave",
                 "pitch_accuracy_crepe": "crepe_correct",
                 "pitch_accuracy_crepe_octave": "crepe_correct_octave"}


def summarize(records: Sequence[NoteRecord]) -> dict[str, float]:
    """Averages of ``records``: each loss and artefact metric (ignoring nan), the pitch
    accuracies of each estimator run (share of notes, 0-1; nan when it was not run) and
    ``notes`` (how many)."""
    out: dict[str, float] = {m: _mean([getattr(r, m) for r in records])
                             for m in LOSS_METRICS + ARTEFACT_METRICS}
    for metric, name in _PITCH_FIELDS.items():
        out[metric] = _share([getattr(r, name) for r in records])
    out["notes"] = len(records)
    return out


def aggregate(records: Iterable[NoteRecord]) -> dict[str, Any]:
    """Group ``records`` by system, and within a system by family.

    Returns ``{"systems": {system: {"overall": summary, "families": {family: summary}}},
    "relative_pitch_accuracy": sing / ground truth (YIN; when both exist),
    "relative_pitch_accuracy_crepe": the same by CREPE (when it was run)}``.
    """
    by_system: dict[str, list[NoteRecord]] = {}
    for r in records:
        by_system.setdefault(r.system, []).append(r)
    systems: dict[str, Any] = {}
    for system in sorted(by_system, key=_system_key):
        recs = by_system[system]
        families: dict[str, list[NoteRecord]] = {}
        for r in recs:
            families.setdefault(r.family, []).append(r)
        systems[system] = {
            "overall": summarize(recs),
            "families": {f: summarize(families[f]) for f in sorted(families)},
        }
    out: dict[str, Any] = {"systems": systems}
    model = next((s for s in ("sing", "autoencoder") if s in systems), None)
    if model is not None and "ground_truth" in systems:
        for metric, key in (("pitch_accuracy", "relative_pitch_accuracy"),
                            ("pitch_accuracy_crepe", "relative_pitch_accuracy_crepe")):
            ceiling = systems["ground_truth"]["overall"][metric]
            reached = systems[model]["overall"][metric]
            if math.isfinite(ceiling) or key == "relative_pitch_accuracy":
                out[key] = reached / ceiling if ceiling > 0 else float("nan")
    return out


def _system_key(system: str) -> tuple[int, str]:
    return (SYSTEM_ORDER.index(system) if system in SYSTEM_ORDER else len(SYSTEM_ORDER), system)
