"""Instrument blends: new instruments as weighted means of learned instrument embeddings.

A blend is written ``"string_acoustic_040:0.7,reed_acoustic_065:0.3"`` (instrument names or
NSynth ids, each with a positive weight; the weights are normalised to sum to 1) or given as a
mapping ``{"string_acoustic_040": 0.7, "reed_acoustic_065": 0.3}``. Its embedding is
``sum_i w_i * E[i]`` over the rows ``E`` of the model's instrument lookup table, which the
sequence generator takes instead of an index (``instrument_embedding=``). A blend of weight
1 on one instrument is exactly that instrument's row, so it generates the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError

if TYPE_CHECKING:
    import numpy as np
    import torch

#: An instrument: a name or NSynth id, or a blend {name or id: weight}.
InstrumentSpec = str | int | Mapping[str | int, float]

#: A resolved blend: ((model index, normalised weight), ...), weights summing to 1.
Weights = tuple[tuple[int, float], ...]


def parse_instrument(text: str) -> str | dict[str, float]:
    """Parse a command-line instrument: a plain name (returned as is) or a blend
    ``"a:0.7,b:0.3"`` (returned as ``{"a": 0.7, "b": 0.3}``, not yet normalised)."""
    text = text.strip()
    if ":" not in text and "," not in text:
        return text
    blend: dict[str, float] = {}
    for part in text.split(","):
        name, sep, weight = part.strip().rpartition(":")
        if not sep or not name.strip():
            raise SingError(
                f"bad instrument blend '{text}': write name:weight,name:weight "
                "(e.g. string_acoustic_040:0.7,reed_acoustic_065:0.3)"
            )
        try:
            value = float(weight)
        except ValueError:
            raise SingError(f"bad weight '{weight}' in instrument blend '{text}'") from None
        if not math.isfinite(value) or value < 0:
            raise SingError(f"instrument blend weight of '{name.strip()}' must be >= 0 and "
                            f"finite, not {weight.strip()}")
        name = name.strip()
        blend[name] = blend.get(name, 0.0) + value
    return blend


def resolve_instrument(vocabulary: Vocabulary, spec: InstrumentSpec) -> Weights:
    """Model indices and normalised weights of an instrument or blend.

    A plain instrument gives ``((index, 1.0),)``. Weights must be finite and >= 0 with a
    positive sum; an unknown instrument raises :class:`SingError` listing the valid ones.
    """
    if isinstance(spec, str):
        parsed = parse_instrument(spec)
        if isinstance(parsed, str):
            return ((vocabulary.instrument_index(parsed), 1.0),)
        spec = parsed
    if not isinstance(spec, Mapping):
        return ((vocabulary.instrument_index(spec), 1.0),)
    if not spec:
        raise SingError("an instrument blend needs at least one instrument")
    merged: dict[int, float] = {}
    for name, weight in spec.items():
        try:
            if isinstance(weight, bool) or not isinstance(weight, int | float | str):
                raise TypeError
            w = float(weight)
        except (TypeError, ValueError, OverflowError):
            raise SingError(f"instrument blend weight of '{name}' must be a number, "
                            f"not {weight!r:.40}") from None
        if not math.isfinite(w) or w < 0:
            raise SingError(f"instrument blend weight of '{name}' must be >= 0 and finite, "
                            f"not {weight}")
        index = vocabulary.instrument_index(name)
        merged[index] = merged.get(index, 0.0) + w
        if not math.isfinite(merged[index]):
            raise SingError(f"instrument blend weights of '{name}' sum to {merged[index]}")
    total = sum(merged.values())
    if total <= 0:
        raise SingError("instrument blend weights sum to 0")
    if not math.isfinite(total):
        raise SingError(f"instrument blend weights sum to {total} (too large to normalise): "
                        "give smaller weights, e.g. a:0.7,b:0.3")
    return tuple((index, w / total) for index, w in merged.items() if w > 0)


def blend_label(vocabulary: Vocabulary, weights: Weights) -> str:
    """A file-name-safe label: the instrument's name, or ``a_70+b_30`` (percent weights)."""
    if len(weights) == 1:
        return vocabulary.instruments[weights[0][0]]
    return "+".join(f"{vocabulary.instruments[i]}_{round(100 * w)}" for i, w in weights)


def blend_embeddings(table: torch.Tensor | np.ndarray,
                     blends: Sequence[Weights]) -> torch.Tensor | np.ndarray:
    """Embeddings of several blends.

    Args:
        table: Tensor[num_instruments, instrument_dim], the instrument lookup table's weight
            (or an ndarray: the NumPy generation path, :mod:`sing.models.numpy_sing`).
        blends: one :data:`Weights` per note.
    Returns:
        Tensor[B, instrument_dim] (same dtype and device as ``table``; an ndarray for an
        ndarray): row b is ``sum_i w_i * table[i]``; a single weight-1 instrument is its row,
        bit for bit.
    """
    import numpy as np

    if isinstance(table, np.ndarray):  # the same sums in NumPy
        return np.stack([
            table[w[0][0]] if len(w) == 1 and w[0][1] == 1.0
            else (np.array([x for _, x in w], dtype=table.dtype)[:, None]
                  * table[[i for i, _ in w]]).sum(0)
            for w in blends])
    import torch

    rows = []
    for weights in blends:
        if len(weights) == 1 and weights[0][1] == 1.0:
            rows.append(table[weights[0][0]])
            continue
        index = torch.tensor([i for i, _ in weights], device=table.device)
        w = torch.tensor([w for _, w in weights], dtype=table.dtype, device=table.device)
        rows.append((w.unsqueeze(1) * table[index]).sum(0))
    return torch.stack(rows).detach()
