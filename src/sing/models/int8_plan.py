"""Which parts of a model run in int8: measured on the model, not assumed.

int8 is only worth having where it keeps the sound. How much a part's int8 arithmetic changes
the note depends on the weights: on random weights every part together costs ~0.5% of the
log-power, on the shipped GM model (quiet notes, a decoder that amplifies changes of its
frames) ~3.6%, most of it from the LSTM and the frames projection. :func:`plan_int8` therefore
generates a few calibration notes with the float32 copy and with int8 copies, and keeps in int8
the parts that fit a budget of the relative spectral loss
(``spectral_loss(int8, float32) / mean log-power(float32)``):

1. every part in int8: kept if within the budget (random weights, the paper preset);
2. otherwise each part alone in int8, then the parts taken in order of error per FLOP
   saved, each kept if the measured error of everything kept so far stays within the budget.

The calibration notes are fixed (instruments spread over the vocabulary, pitches over its
range, all velocities), and so is the arithmetic, so the same weights on the same CPU give the
same plan and the same samples every time. Each calibration note is its first
``steps`` frames only (:meth:`sing.models.fast.FastSING.prefix`), so planning costs a few
notes' worth of generation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from sing.dsp import log_power_spectrogram
from sing.models.fast import FastSING, int8_part_flops, int8_part_names

if TYPE_CHECKING:
    from sing.data.vocabulary import Vocabulary
    from sing.models.sing import SING

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_BUDGET", "Int8Plan", "calibration_notes", "plan_int8",
           "relative_spectral_loss"]

#: The planning budget: three quarters of the 1% of issue 21's quality check, a margin for
#: notes other than the calibration ones (on the shipped model, 32 calibration notes read
#: 0.62-0.94% where three other sets of 64 whole notes read 0.48-0.87%).
DEFAULT_BUDGET = 0.0075
#: Calibration notes and the frames of each that are generated.
CALIBRATION_NOTES = 32
CALIBRATION_STEPS = 32


@dataclass(frozen=True)
class Int8Plan:
    """The outcome of :func:`plan_int8`.

    Attributes:
        parts: the parts that run in int8, in network order (``int8_parts`` of FastSING).
        error: the measured relative spectral loss of the plan on the calibration notes.
        budget: the budget it was planned for.
        int8_share: the fraction of the network's FLOPs that run in int8.
        alone: each part's error when it alone runs in int8 (empty if every part fitted).
        copy: the int8 FastSING copy that runs the plan (the one the calibration built).
    """

    parts: tuple[str, ...]
    error: float
    budget: float
    int8_share: float
    alone: dict[str, float] = field(default_factory=dict)
    copy: FastSING | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, model: SING, parts: Iterable[str], error: float, budget: float,
           alone: dict[str, float] | None = None, copy: FastSING | None = None) -> Int8Plan:
        """The plan running ``parts`` of ``model`` in int8 (put in network order; its FLOP
        share derived), with the int8 copy that runs it (``copy``, or built)."""
        names = int8_part_names(model.config)
        chosen = tuple(p for p in names if p in set(parts))
        flops = int8_part_flops(model.config)
        share = sum(flops[p] for p in chosen) / sum(flops.values())
        copy = copy or FastSING(model, torch.int8, int8_parts=chosen)
        return cls(chosen, error, budget, share, dict(alone or {}), copy)

    def describe(self) -> str:
        """One line: what runs in int8 and what it costs."""
        parts = ", ".join(self.parts) if self.parts else "nothing"
        return (f"int8 plan: {parts} in int8 ({self.int8_share:.0%} of the FLOPs), spectral "
                f"loss {self.error:.2%} of the log-power on the calibration notes "
                f"(budget {self.budget:.2%})")


def relative_spectral_loss(got: torch.Tensor, want: torch.Tensor) -> float:
    """``spectral_loss(got, want) / mean(log_power_spectrogram(want))``: the quality check of
    issue 21 (below 0.01: int8 keeps the sound). The paper's 1024-point spectrogram, or, for
    notes shorter than that, the largest power of two that fits (hop a quarter of it)."""
    n_fft = min(1024, 1 << (want.shape[-1].bit_length() - 1))
    hop = max(1, n_fft // 4)
    with torch.no_grad():
        reference = log_power_spectrogram(want, n_fft=n_fft, hop=hop)
        power = reference.mean()
        if power <= 0:
            return 0.0 if torch.equal(got, want) else float("inf")
        distance = (log_power_spectrogram(got, n_fft=n_fft, hop=hop) - reference).abs().mean()
    return (distance / power).item()


def calibration_notes(vocabulary: Vocabulary | None, num_instruments: int,
                      num_velocities: int, count: int = CALIBRATION_NOTES
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` fixed notes: (instrument, pitch, velocity) model indices spread over the
    instruments, the vocabulary's pitch range (MIDI 48-72 without one) and the velocities."""
    lo, hi = (48, 72) if vocabulary is None else (vocabulary.pitch_min, vocabulary.pitch_max)
    i = torch.arange(count)
    instrument = (i * num_instruments) // count
    # a stride coprime with most ranges walks the pitch range in an order unrelated to the
    # instruments
    pitch = lo + (i * 7 + (hi - lo) // 2) % (hi - lo + 1)
    velocity = i % num_velocities
    return instrument, pitch, velocity


def plan_int8(
    model: SING,
    *,
    budget: float = DEFAULT_BUDGET,
    notes: int = CALIBRATION_NOTES,
    steps: int = CALIBRATION_STEPS,
    reference: FastSING | None = None,
) -> Int8Plan:
    """Measure which parts of ``model`` can run in int8 within ``budget`` (see the module
    docstring).

    Args:
        model: a SING model on the CPU.
        budget: the largest relative spectral loss of the plan on the calibration notes.
        notes, steps: calibration notes, and the frames generated of each.
        reference: the model's float32 FastSING copy, if the caller has one.
    Returns:
        the :class:`Int8Plan`; its ``copy`` is the int8 FastSING copy that runs it.
    """
    if not budget > 0:
        raise ValueError(f"budget must be > 0, not {budget}")
    config = model.config
    names = int8_part_names(config)
    flops = int8_part_flops(config)
    instrument, pitch, velocity = calibration_notes(
        getattr(model, "vocabulary", None), config.num_instruments, config.num_velocities, notes)
    args = (instrument, pitch.clamp(max=config.num_pitches - 1), velocity, steps)
    reference = reference or FastSING(model, dtype=torch.float32)
    want = reference.prefix(*args)

    def measure(parts: tuple[str, ...]) -> tuple[float, FastSING]:
        copy = FastSING(model, torch.int8, int8_parts=parts)
        return relative_spectral_loss(copy.prefix(*args), want), copy

    def plan(parts: tuple[str, ...], err: float, alone: dict[str, float],
             copy: FastSING | None) -> Int8Plan:
        result = Int8Plan.of(model, parts, err, budget, alone, copy)
        logger.debug(result.describe())
        return result

    everything, copy = measure(names)
    if everything <= budget:
        return plan(names, everything, {}, copy)
    del copy
    alone = {part: measure((part,))[0] for part in names}
    kept: tuple[str, ...] = ()
    kept_error, kept_copy = 0.0, None
    for part in sorted(names, key=lambda p: (alone[p] / flops[p], names.index(p))):
        if alone[part] > budget:
            continue
        if not kept:  # the first part that fits: measured already, its copy built at the end
            kept, kept_error = (part,), alone[part]
            continue
        trial, copy = measure((*kept, part))
        if trial <= budget:
            kept, kept_error, kept_copy = (*kept, part), trial, copy
    return plan(kept, kept_error, alone, kept_copy)
