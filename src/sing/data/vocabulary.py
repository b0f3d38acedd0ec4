"""The vocabulary of a data set: which symbols a model can be asked for.

A :class:`Vocabulary` maps instrument names (NSynth's ``instrument_str``) to the compact
indices of the model's instrument lookup table, and records the velocities, the pitch range,
the sample rate and the note length. It travels inside every model file (as JSON in the
safetensors metadata), so a model can be asked for ``guitar_acoustic_009`` by name.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sing.errors import SingError

#: NSynth's instrument families, in the order of their integer ids.
NSYNTH_FAMILIES: tuple[str, ...] = (
    "bass", "brass", "flute", "guitar", "keyboard", "mallet",
    "organ", "reed", "string", "synth_lead", "vocal",
)
#: NSynth's instrument sources, in the order of their integer ids.
NSYNTH_SOURCES: tuple[str, ...] = ("acoustic", "electronic", "synthetic")
#: NSynth's velocities.
NSYNTH_VELOCITIES: tuple[int, ...] = (25, 50, 75, 100, 127)

_NOTE_RE = re.compile(r"^(?P<instrument>.+)-(?P<pitch>\d{3})-(?P<velocity>\d{3})$")


def parse_note_name(name: str) -> tuple[str, int, int]:
    """Split an NSynth note name ``<instrument_str>-<pitch:03d>-<velocity:03d>``.

    Returns ``(instrument_str, pitch, velocity)``; raises :class:`SingError` if malformed.
    """
    m = _NOTE_RE.match(name)
    if m is None:
        raise SingError(
            f"'{name}' is not an NSynth note name (expected "
            "<instrument>-<pitch:03d>-<velocity:03d>, e.g. guitar_acoustic_009-069-100)"
        )
    return m["instrument"], int(m["pitch"]), int(m["velocity"])


def note_name(instrument: str, pitch: int, velocity: int) -> str:
    """The NSynth note name of (instrument, pitch, velocity)."""
    return f"{instrument}-{pitch:03d}-{velocity:03d}"


def _seconds(value: Any) -> float | None:
    """A number of seconds, or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True)
class Vocabulary:
    """Symbols of a data set, in the order of the model's lookup tables.

    Attributes:
        instruments: ``instrument_str`` of each instrument; position = model index.
        instrument_ids: NSynth's integer ``instrument`` id of each instrument (same order).
        families: NSynth family name of each instrument (same order).
        velocities: the velocities; position = model velocity index.
        pitch_min / pitch_max: the MIDI pitch range present in the data (inclusive).
        sample_rate: samples per second.
        note_length: samples per note.
        hold: seconds the notes' key was held before their release (None: not known; a model
            file's loader fills it from the recipe of older files).
    """

    instruments: tuple[str, ...]
    instrument_ids: tuple[int, ...]
    families: tuple[str, ...]
    velocities: tuple[int, ...] = NSYNTH_VELOCITIES
    pitch_min: int = 0
    pitch_max: int = 127
    sample_rate: int = 16000
    note_length: int = 64000
    hold: float | None = field(default=None, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = len(self.instruments)
        if len(self.instrument_ids) != n or len(self.families) != n:
            raise ValueError("instruments, instrument_ids and families must have the same length")
        if len(set(self.instruments)) != n:
            raise ValueError("instrument names must be unique")
        if self.hold is None and _seconds(self.extra.get("hold")) is not None:
            object.__setattr__(self, "hold", _seconds(self.extra["hold"]))  # older layout

    # -- sizes ------------------------------------------------------------------------------
    @property
    def num_instruments(self) -> int:
        """Number of instruments (rows of the instrument lookup table)."""
        return len(self.instruments)

    @property
    def num_velocities(self) -> int:
        """Number of velocities (rows of the velocity lookup table)."""
        return len(self.velocities)

    # -- lookups (raise SingError with what is valid) -----------------------------------------
    def instrument_index(self, name_or_id: str | int) -> int:
        """Model index of an instrument given by name (``guitar_acoustic_009``), by NSynth id
        (an int or a string of digits), raising :class:`SingError` listing valid names."""
        if isinstance(name_or_id, str) and name_or_id in self.instruments:
            return self.instruments.index(name_or_id)
        key: int | None = None
        if isinstance(name_or_id, int):
            key = name_or_id
        elif isinstance(name_or_id, str) and name_or_id.strip().isdigit():
            key = int(name_or_id)
        if key is not None and key in self.instrument_ids:
            return self.instrument_ids.index(key)
        shown = ", ".join(self.instruments[:8]) + (", ..." if self.num_instruments > 8 else "")
        raise SingError(
            f"unknown instrument '{name_or_id}': this model knows {self.num_instruments} "
            f"instruments ({shown}); `sing info MODEL` lists them"
        )

    def velocity_index(self, velocity: int) -> int:
        """Model index of a velocity, raising :class:`SingError` listing valid velocities."""
        if velocity not in self.velocities:
            valid = ", ".join(str(v) for v in self.velocities)
            raise SingError(f"velocity {velocity} is not one of this model's velocities ({valid})")
        return self.velocities.index(velocity)

    def check_pitch(self, pitch: int) -> int:
        """Return ``pitch`` if inside the vocabulary's range, else raise :class:`SingError`."""
        if not (self.pitch_min <= pitch <= self.pitch_max):
            raise SingError(
                f"pitch {pitch} is outside this model's range {self.pitch_min}-{self.pitch_max}"
            )
        return pitch

    def family_of(self, instrument_index: int) -> str:
        """NSynth family name of the instrument at ``instrument_index``."""
        return self.families[instrument_index]

    def encode_note(self, name: str) -> tuple[int, int, int]:
        """Model indices ``(instrument, pitch, velocity_index)`` of an NSynth note name."""
        instrument, pitch, velocity = parse_note_name(name)
        return self.instrument_index(instrument), self.check_pitch(pitch), self.velocity_index(
            velocity
        )

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (lists, ints, strings)."""
        d = asdict(self)
        for key in ("instruments", "instrument_ids", "families", "velocities"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`; raises :class:`SingError` on a malformed dict."""
        try:
            return cls(
                instruments=tuple(str(x) for x in d["instruments"]),
                instrument_ids=tuple(int(x) for x in d["instrument_ids"]),
                families=tuple(str(x) for x in d["families"]),
                velocities=tuple(int(x) for x in d["velocities"]),
                pitch_min=int(d["pitch_min"]),
                pitch_max=int(d["pitch_max"]),
                sample_rate=int(d["sample_rate"]),
                note_length=int(d["note_length"]),
                hold=_seconds(d.get("hold", dict(d.get("extra", {})).get("hold"))),
                extra=dict(d.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise SingError(f"malformed vocabulary ({err})") from None

    def to_json(self) -> str:
        """JSON string of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        """Inverse of :meth:`to_json`."""
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as err:
            raise SingError(f"malformed vocabulary JSON ({err})") from None

    @classmethod
    def from_examples(cls, examples: dict[str, dict[str, Any]]) -> Vocabulary:
        """Build a vocabulary from NSynth ``examples.json`` metadata (note name -> metadata).

        Instruments are ordered by NSynth id; velocities and pitch range are those present.
        """
        if not examples:
            raise SingError("no notes to build a vocabulary from")
        by_id: dict[int, tuple[str, str]] = {}
        velocities: set[int] = set()
        pitches: set[int] = set()
        rates: set[int] = set()
        for meta in examples.values():
            by_id[int(meta["instrument"])] = (
                str(meta["instrument_str"]),
                str(meta["instrument_family_str"]),
            )
            velocities.add(int(meta["velocity"]))
            pitches.add(int(meta["pitch"]))
            rates.add(int(meta["sample_rate"]))
        if len(rates) != 1:
            raise SingError(f"notes have several sample rates: {sorted(rates)}")
        ids = sorted(by_id)
        return cls(
            instruments=tuple(by_id[i][0] for i in ids),
            instrument_ids=tuple(ids),
            families=tuple(by_id[i][1] for i in ids),
            velocities=tuple(sorted(velocities)),
            pitch_min=min(pitches),
            pitch_max=max(pitches),
            sample_rate=rates.pop(),
        )
