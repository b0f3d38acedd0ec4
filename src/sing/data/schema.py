"""NSynth's ``examples.json`` schema: one object, note name -> metadata.

Every note's metadata has exactly these keys and types (as in the NSynth release):
``note`` int, ``note_str`` str, ``instrument`` int, ``instrument_str`` str, ``pitch`` int
(MIDI 0-127), ``velocity`` int, ``sample_rate`` int, ``instrument_family`` int,
``instrument_family_str`` str, ``instrument_source`` int, ``instrument_source_str`` str,
``qualities`` list of 10 ints (0/1), ``qualities_str`` list of str (the qualities present).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sing.data.vocabulary import NSYNTH_FAMILIES, NSYNTH_SOURCES, parse_note_name
from sing.errors import SingError

#: NSynth's note qualities, in the order of the ``qualities`` vector.
NSYNTH_QUALITIES: tuple[str, ...] = (
    "bright", "dark", "distortion", "fast_decay", "long_release",
    "multiphonic", "nonlinear_env", "percussive", "reverb", "tempo-synced",
)

#: Every metadata key of a note and its JSON type.
EXAMPLE_KEYS: dict[str, type] = {
    "note": int,
    "note_str": str,
    "instrument": int,
    "instrument_str": str,
    "pitch": int,
    "velocity": int,
    "sample_rate": int,
    "instrument_family": int,
    "instrument_family_str": str,
    "instrument_source": int,
    "instrument_source_str": str,
    "qualities": list,
    "qualities_str": list,
}


def make_example(
    *, note: int, instrument: int, instrument_str: str, pitch: int, velocity: int,
    sample_rate: int, family: str, source: str, qualities: tuple[int, ...] = (0,) * 10,
) -> dict[str, Any]:
    """The NSynth metadata dict of one note (keys in NSynth's order)."""
    note_str = f"{instrument_str}-{pitch:03d}-{velocity:03d}"
    return {
        "note": note,
        "note_str": note_str,
        "instrument": instrument,
        "instrument_str": instrument_str,
        "pitch": pitch,
        "velocity": velocity,
        "sample_rate": sample_rate,
        "instrument_family": NSYNTH_FAMILIES.index(family),
        "instrument_family_str": family,
        "instrument_source": NSYNTH_SOURCES.index(source),
        "instrument_source_str": source,
        "qualities": list(qualities),
        "qualities_str": [q for q, on in zip(NSYNTH_QUALITIES, qualities, strict=True) if on],
    }


def example_problems(name: str, meta: Any) -> list[str]:
    """Problems with one note's metadata (empty if it follows NSynth's schema)."""
    if not isinstance(meta, dict):
        return [f"note '{name}': metadata is {type(meta).__name__}, expected an object"]
    problems = []
    missing = [k for k in EXAMPLE_KEYS if k not in meta]
    if missing:
        problems.append(f"note '{name}': missing key(s) {', '.join(missing)}")
    for key, typ in EXAMPLE_KEYS.items():
        if key in meta and (not isinstance(meta[key], typ) or isinstance(meta[key], bool)):
            problems.append(
                f"note '{name}': '{key}' is {type(meta[key]).__name__}, expected {typ.__name__}"
            )
    if problems:
        return problems
    if meta["note_str"] != name:
        problems.append(f"note '{name}': note_str is '{meta['note_str']}'")
    try:
        inst, pitch, velocity = parse_note_name(name)
    except SingError as err:
        return [*problems, str(err)]
    if (inst, pitch, velocity) != (meta["instrument_str"], meta["pitch"], meta["velocity"]):
        problems.append(f"note '{name}': name disagrees with instrument_str/pitch/velocity")
    if not 0 <= meta["pitch"] <= 127:
        problems.append(f"note '{name}': pitch {meta['pitch']} is not a MIDI pitch (0-127)")
    if meta["instrument_family_str"] not in NSYNTH_FAMILIES:
        problems.append(f"note '{name}': unknown family '{meta['instrument_family_str']}'")
    elif NSYNTH_FAMILIES.index(meta["instrument_family_str"]) != meta["instrument_family"]:
        problems.append(f"note '{name}': instrument_family disagrees with instrument_family_str")
    if meta["sample_rate"] <= 0:
        problems.append(f"note '{name}': sample_rate {meta['sample_rate']} is not positive")
    return problems


def load_examples(path: str | Path, all_problems: bool = False) -> tuple[dict, list[str]]:
    """Read and validate an ``examples.json``.

    Returns ``(examples, problems)``. Without ``all_problems`` the first problem raises
    :class:`SingError` naming ``path``; with it, problems are collected (an unreadable or
    non-JSON file still raises, since nothing else can be checked).
    """
    path = Path(path)
    from sing.utils.inputs import read_input

    if not path.exists():
        raise SingError("missing (not an NSynth jsonwav folder?)", path)
    try:
        text = read_input(path, "examples.json").decode("utf-8")  # a FIFO never blocks
    except UnicodeDecodeError:
        raise SingError("is not UTF-8 JSON", path) from None
    try:
        examples = json.loads(text)
    except json.JSONDecodeError as err:
        raise SingError(f"malformed JSON ({err})", path) from None
    if not isinstance(examples, dict):
        raise SingError(
            f"expected one object (note name -> metadata), found {type(examples).__name__}", path
        )
    if not examples:
        raise SingError("contains no notes", path)
    problems: list[str] = []
    for name, meta in examples.items():
        found = example_problems(name, meta)
        if found and not all_problems:
            raise SingError(found[0], path)
        problems.extend(found)
    rates = {m.get("sample_rate") for m in examples.values() if isinstance(m, dict)}
    if len(rates) > 1:
        msg = f"notes have several sample rates: {sorted(map(str, rates))}"
        if not all_problems:
            raise SingError(msg, path)
        problems.append(msg)
    return examples, [f"{path}: {p}" for p in problems]
