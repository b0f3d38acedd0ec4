"""Note lists -> a type-1 Standard MIDI File, written with mido (atomically).

A part is a :class:`Part`: a channel, a GM program, a name and notes
``(start beat, length in beats, MIDI pitch, velocity)``. Track 0 holds the tempo and the time
signature; each part gets its own track.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: A note: (start in beats, length in beats, MIDI pitch, velocity 1-127).
Note = tuple[float, float, int, int]


@dataclass
class Part:
    """One track: ``name``, its ``channel`` (0-15; 9 is drums), GM ``program`` and ``notes``."""

    name: str
    channel: int
    program: int
    notes: list[Note] = field(default_factory=list)


def midi_bytes(parts: Sequence[Part], bpm: float, ticks_per_beat: int = 480,
               title: str = "") -> bytes:
    """The bytes of a type-1 Standard MIDI File playing ``parts`` at ``bpm``."""
    import io

    import mido

    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    meta = mido.MidiTrack()
    if title:
        meta.append(mido.MetaMessage("track_name", name=title, time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    midi.tracks.append(meta)
    for part in parts:
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=part.name, time=0))
        track.append(mido.Message("program_change", channel=part.channel, program=part.program,
                                  time=0))
        events = []  # (tick, 0 = off before 1 = on, pitch, velocity)
        for start, length, pitch, velocity in part.notes:
            on = round(start * ticks_per_beat)
            off = on + max(1, round(length * ticks_per_beat))
            events += [(on, 1, pitch, velocity), (off, 0, pitch, 0)]
        now = 0
        for tick, kind, pitch, velocity in sorted(events):
            message = "note_on" if kind else "note_off"
            track.append(mido.Message(message, channel=part.channel, note=pitch,
                                      velocity=velocity, time=tick - now))
            now = tick
        midi.tracks.append(track)
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def write_midi(path: str | Path, parts: Sequence[Part], bpm: float, ticks_per_beat: int = 480,
               title: str = "") -> Path:
    """Write ``parts`` as a Standard MIDI File at ``path`` (atomically); returns the path."""
    from sing.utils.atomic import atomic_write_bytes

    atomic_write_bytes(path, midi_bytes(parts, bpm, ticks_per_beat, title))
    return Path(path)
