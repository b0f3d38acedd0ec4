"""Every value a model file gives, checked before anything is sized from it.

A model file is input: its metadata (config, vocabulary, recipe) and its tensors may be wrong
by accident or on purpose. :func:`validate_metadata` checks the whole metadata (types,
ranges, consistency between config and vocabulary) and every tensor entry of the safetensors
header (names, shapes, dtypes) against the shapes the config implies
(:func:`sing.models.shapes.state_shapes`: arithmetic, no torch, nothing allocated). Only then
does :func:`sing.models.io.load_model_file` read the tensors, and :func:`check_tensor_values`
refuses a non-finite weight. Each refusal is one :class:`~sing.errors.SingError` naming the
file and the field or tensor that is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.models.config import SingConfig
from sing.models.shapes import KINDS, Shapes, state_shapes

if TYPE_CHECKING:
    import torch
    from torch import nn

FORMAT = "sing-model"
FORMAT_VERSION = 1
#: safetensors dtypes a floating-point weight may be stored in (what ``save_model`` writes).
FLOAT_DTYPES: tuple[str, ...] = ("F32", "F16", "BF16")

#: Largest value of each config field a model file may give (sizes beyond any real model:
#: the paper's network is far below every one). Shapes are checked against the tensors too.
CONFIG_LIMITS: dict[str, int] = {
    "num_instruments": 1 << 20, "num_pitches": 1024, "num_velocities": 127,
    "instrument_dim": 1 << 14, "pitch_dim": 1 << 14, "velocity_dim": 1 << 14,
    "time_dim": 1 << 14, "hidden_size": 1 << 16, "num_layers": 64, "frame_dim": 1 << 16,
    "channels": 1 << 16, "rewrite_layers": 64, "context_size": 1 << 10, "window": 1 << 16,
    "stride": 1 << 16, "note_length": 1 << 26, "sample_rate": 384_000,
}
#: Sample rates a model may have (Hz), and the longest note (seconds).
MIN_SAMPLE_RATE = 1000
MAX_NOTE_SECONDS = 60.0


@dataclass(frozen=True)
class Metadata:
    """A model file's checked metadata."""

    kind: str
    config: SingConfig
    vocabulary: Vocabulary
    recipe: dict[str, Any]
    training_data: dict[str, Any] | None
    format_version: int


def _bad(field: str, problem: str, path: Path) -> SingError:
    return SingError(f"corrupt model metadata ({field}: {problem})", path)


def _json(meta: Mapping[str, Any], key: str, path: Path, default: str | None = None) -> Any:
    text = meta.get(key, default)
    if not isinstance(text, str):
        raise _bad(key, "missing", path)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(key, "not valid JSON", path) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(d: Mapping[str, Any], key: str, where: str, path: Path, lo: int, hi: int) -> int:
    value = d.get(key)
    if not _is_int(value):
        raise _bad(f"{where}.{key}", f"must be an integer, not {value!r:.40}", path)
    if not lo <= value <= hi:
        raise _bad(f"{where}.{key}", f"{value} is outside {lo}-{hi}", path)
    return value


def _check_config(raw: Any, path: Path) -> SingConfig:
    if not isinstance(raw, dict):
        raise _bad("config", "must be a JSON object", path)
    known = {f.name: f for f in fields(SingConfig)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise _bad("config", f"unknown field(s) {', '.join(unknown)}", path)
    for name, f in known.items():
        if name not in raw:
            continue  # the dataclass default
        if f.type in ("bool", bool):
            if not isinstance(raw[name], bool):
                raise _bad(f"config.{name}", f"must be true or false, not {raw[name]!r:.40}",
                           path)
            continue
        lo = 0 if name == "rewrite_layers" else MIN_SAMPLE_RATE if name == "sample_rate" else 1
        _int(raw, name, "config", path, lo, CONFIG_LIMITS[name])
    try:
        config = SingConfig(**raw)
    except SingError as err:
        raise SingError(f"corrupt model metadata ({err})", path) from None
    if config.note_length > MAX_NOTE_SECONDS * config.sample_rate:
        raise _bad("config.note_length", f"{config.note_length} samples is longer than "
                   f"{MAX_NOTE_SECONDS:g} s at {config.sample_rate} Hz", path)
    return config


def _strings(d: Mapping[str, Any], key: str, path: Path) -> list[str]:
    value = d.get(key)
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise _bad(f"vocabulary.{key}", "must be a list of non-empty strings", path)
    return value


def _ints(d: Mapping[str, Any], key: str, path: Path, lo: int, hi: int) -> list[int]:
    value = d.get(key)
    if not isinstance(value, list) or not all(_is_int(x) and lo <= x <= hi for x in value):
        raise _bad(f"vocabulary.{key}", f"must be a list of integers in {lo}-{hi}", path)
    if len(set(value)) != len(value):
        raise _bad(f"vocabulary.{key}", "has duplicates", path)
    return value


def _check_hold(value: Any, field: str, note_seconds: float, path: Path) -> None:
    """A hold (seconds the training notes' key was held), where render reads one."""
    if value is None or isinstance(value, str | dict | list):
        return  # not a number: render does not read it
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(field, f"must be a number of seconds, not {value!r:.40}", path)
    if not math.isfinite(value) or not 0 < value <= note_seconds * (1 + 1e-9):
        raise _bad(field, f"{value} s is not in (0, {note_seconds:g}] (the note's length)",
                   path)


def _check_vocabulary(raw: Any, config: SingConfig, path: Path) -> Vocabulary:
    if not isinstance(raw, dict):
        raise _bad("vocabulary", "must be a JSON object", path)
    instruments = _strings(raw, "instruments", path)
    if len(set(instruments)) != len(instruments):
        raise _bad("vocabulary.instruments", "has duplicate names", path)
    for name in instruments:  # names become file names (sing generate): no path in them
        if (name in (".", "..") or len(name.encode()) > 200
                or any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in name)):
            raise _bad("vocabulary.instruments", f"{name!r:.60} is not usable in a file name",
                       path)
    families = _strings(raw, "families", path)
    ids = _ints(raw, "instrument_ids", path, 0, 2**31 - 1)
    if not len(instruments) == len(ids) == len(families):
        raise _bad("vocabulary", f"{len(instruments)} instruments, {len(ids)} instrument_ids "
                   f"and {len(families)} families (the same number is needed)", path)
    if len(instruments) != config.num_instruments:
        raise _bad("vocabulary.instruments", f"{len(instruments)} instruments, the config has "
                   f"{config.num_instruments} (num_instruments)", path)
    velocities = _ints(raw, "velocities", path, 1, 127)
    if len(velocities) != config.num_velocities:
        raise _bad("vocabulary.velocities", f"{len(velocities)} velocities, the config has "
                   f"{config.num_velocities} (num_velocities)", path)
    pitch_min = _int(raw, "pitch_min", "vocabulary", path, 0, 127)
    pitch_max = _int(raw, "pitch_max", "vocabulary", path, 0, 127)
    if pitch_min > pitch_max:
        raise _bad("vocabulary.pitch_min", f"{pitch_min} is above pitch_max {pitch_max}", path)
    if pitch_max >= config.num_pitches:
        raise _bad("vocabulary.pitch_max", f"{pitch_max} has no row in the config's "
                   f"{config.num_pitches} pitches (num_pitches)", path)
    rate = _int(raw, "sample_rate", "vocabulary", path, MIN_SAMPLE_RATE,
                CONFIG_LIMITS["sample_rate"])
    if rate != config.sample_rate:
        raise _bad("vocabulary.sample_rate", f"{rate} Hz, the config has {config.sample_rate}",
                   path)
    length = _int(raw, "note_length", "vocabulary", path, 1, CONFIG_LIMITS["note_length"])
    if length != config.note_length:
        raise _bad("vocabulary.note_length", f"{length} samples, the config has "
                   f"{config.note_length}", path)
    extra = raw.get("extra", {})
    if not isinstance(extra, dict):
        raise _bad("vocabulary.extra", "must be a JSON object", path)
    _check_hold(extra.get("hold"), "vocabulary.extra.hold", length / rate, path)
    _check_hold(raw.get("hold"), "vocabulary.hold", length / rate, path)
    return Vocabulary(instruments=tuple(instruments), instrument_ids=tuple(ids),
                      families=tuple(families), velocities=tuple(velocities),
                      pitch_min=pitch_min, pitch_max=pitch_max, sample_rate=rate,
                      note_length=length, hold=_first_seconds(raw.get("hold"),
                                                              extra.get("hold")),
                      extra=extra)


def _first_seconds(*values: Any) -> float | None:
    """The first of ``values`` that is a number (a checked hold), as float seconds."""
    for value in values:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def expected_tensors(model_class: type[nn.Module], config: SingConfig) -> dict[str, torch.Tensor]:
    """The state dict a torch model of ``config`` has, on the ``meta`` device (nothing
    allocated, nothing initialised: :func:`sing.models.noinit.skip_random_init`): the torch
    side of the consistency test of :func:`sing.models.shapes.state_shapes`."""
    import torch

    from sing.models.noinit import skip_random_init

    with torch.device("meta"), skip_random_init():
        return dict(model_class(config).state_dict())


def check_tensor_entries(header: Mapping[str, Any], expected: Shapes, path: Path) -> None:
    """Names, shapes and dtypes of the header's tensors against ``expected`` (name -> shape;
    every tensor of a model is floating point: :data:`FLOAT_DTYPES`)."""
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise SingError(f"weights do not match its config ({what})", path)
    for name, entry in tensors.items():
        want = tuple(expected[name])
        shape = tuple(int(d) for d in entry["shape"])
        if shape != want:
            raise SingError(f"weights do not match its config ({name}: {shape} in the file, "
                            f"{want} expected)", path)
        dtype = entry["dtype"]
        if dtype not in FLOAT_DTYPES:
            raise SingError(f"weights do not match its config ({name}: stored as {dtype}, "
                            f"{' / '.join(FLOAT_DTYPES)} expected)", path)


def validate_metadata(meta: Any, header: Mapping[str, Any], path: str | Path,
                      kinds: Collection[str] = KINDS) -> Metadata:
    """Check a model file's metadata and tensor entries; returns them parsed.

    Args:
        meta: the header's ``__metadata__`` (string -> string).
        header: the whole safetensors header (tensor name -> dtype, shape, offsets).
        kinds: the model kinds accepted (default all: :data:`sing.models.shapes.KINDS`).
    Raises:
        SingError: one line naming ``path`` and the field or tensor that is wrong.
    """
    path = Path(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SingError("not a sing model file (safetensors without sing metadata)", path)
    text = meta.get("format_version", "")
    if not isinstance(text, str) or not text.strip().isdigit() or int(text) < 1:
        raise SingError("corrupt model file (bad format_version)", path)
    version = int(text)
    if version > FORMAT_VERSION:
        raise SingError(
            f"written by a newer sing (model format {version}; this sing reads up to "
            f"{FORMAT_VERSION}): upgrade sing", path)
    kind = meta.get("kind")
    if kind not in kinds:
        raise SingError(f"unknown model kind {kind!r:.40} (valid: {', '.join(kinds)})", path)
    config = _check_config(_json(meta, "config", path), path)
    vocabulary = _check_vocabulary(_json(meta, "vocabulary", path), config, path)
    recipe = _json(meta, "recipe", path, default="{}")
    recipe = recipe if isinstance(recipe, dict) else {"recipe": recipe}
    seconds = config.note_length / config.sample_rate
    _check_hold(recipe.get("hold"), "recipe.hold", seconds, path)
    data = recipe.get("data") if isinstance(recipe.get("data"), dict) else {}
    _check_hold(data.get("hold"), "recipe.data.hold", seconds, path)
    if vocabulary.hold is None:  # older files: the hold is in the recipe
        hold = _first_seconds(recipe.get("hold"), data.get("hold"))
        if hold is not None:
            vocabulary = dataclasses.replace(vocabulary, hold=hold)
    training_data = None
    if "training_data" in meta:
        training_data = _json(meta, "training_data", path)
        if not (isinstance(training_data, dict)
                and isinstance(training_data.get("fingerprint"), str)
                and _is_int(training_data.get("note_length"))):
            raise _bad("training_data", "needs a fingerprint and a note_length", path)
    check_tensor_entries(header, state_shapes(kind, config), path)
    return Metadata(kind, config, vocabulary, recipe, training_data, version)


def _all_finite(tensor: Any) -> bool:
    """Whether a floating-point tensor (torch or NumPy) holds no NaN and no infinity: one
    reduction to its minimum and maximum (NaN propagates through both; an infinity is one of
    them), without a mask as large as the tensor."""
    import numpy as np

    if isinstance(tensor, np.ndarray):
        return tensor.size == 0 or bool(np.isfinite(tensor.min()) and np.isfinite(tensor.max()))
    if tensor.numel() == 0:
        return True
    import torch

    lo, hi = torch.aminmax(tensor)
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


def check_tensor_values(state: Mapping[str, Any], path: str | Path) -> None:
    """Refuse a floating-point tensor (torch or NumPy) holding NaN or an infinity (naming it)."""
    import numpy as np

    for name, tensor in state.items():
        if isinstance(tensor, np.ndarray):
            if not np.issubdtype(tensor.dtype, np.floating) or _all_finite(tensor):
                continue
            bad = int((~np.isfinite(tensor)).sum())
        else:
            if not tensor.is_floating_point() or _all_finite(tensor):
                continue
            import torch

            bad = int((~torch.isfinite(tensor)).sum())
        if bad:
            raise SingError(f"corrupt model file (tensor {name} holds {bad} NaN or infinite "
                            "value(s))", Path(path))
