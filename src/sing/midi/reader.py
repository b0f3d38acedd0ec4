"""A Standard MIDI File -> note events in seconds, read with mido.

Every track is read; messages are merged in time order (ties keep each track's order), the
tempo map (``set_tempo`` in any track) turns ticks into seconds, and each note gets the
program of its channel at its note-on (program changes are per channel, as in MIDI). A note-on
with velocity 0 is a note-off; a note-off ends the oldest sounding note of that channel and
pitch; the sustain pedal (CC 64 >= 64) holds released notes until the pedal is lifted; a note
still on at the end of the file ends there. Channel 10 (index 9) is General MIDI's drum kit:
its notes are counted and left out.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from sing.errors import SingError

logger = logging.getLogger(__name__)

#: General MIDI's percussion channel (channel 10, 0-based 9).
DRUM_CHANNEL = 9
_DEFAULT_TEMPO = 500_000  # microseconds per beat (120 bpm)


@dataclass(frozen=True)
class NoteEvent:
    """One note of a MIDI file.

    Attributes:
        start / end: seconds from the start of the file (``end >= start``).
        pitch: MIDI key (0-127). velocity: MIDI note-on velocity (1-127).
        program: the channel's GM program (0-127) at the note-on. channel: 0-15.
        track: index of the track it came from.
    """

    start: float
    end: float
    pitch: int
    velocity: int
    program: int
    channel: int
    track: int

    @property
    def duration(self) -> float:
        """Seconds from note-on to note-off."""
        return self.end - self.start


@dataclass
class Score:
    """The notes of a MIDI file (drums left out), in order of start time.

    Attributes:
        path: the file. notes: the melodic notes. drum_notes: notes skipped on channel 10.
        length: seconds to the last event of the file. tracks: number of tracks.
    """

    path: Path
    notes: list[NoteEvent] = field(default_factory=list)
    drum_notes: int = 0
    length: float = 0.0
    tracks: int = 0

    @property
    def programs(self) -> list[int]:
        """The GM programs the notes use, sorted."""
        return sorted({n.program for n in self.notes})


def _midi_chunks(data: bytes, path: Path) -> tuple[int, int, bytes]:
    """Check the header chunk and keep the track chunks: (format, division, the file rebuilt
    from MThd and its MTrk chunks). Chunks of other types are skipped, as the standard asks
    ("alien" chunks may appear anywhere); mido reads the rest."""
    if data[:4] != b"MThd":
        what = "an empty file" if not data else "no MThd header"
        raise SingError(f"not a Standard MIDI File ({what})", path)
    if len(data) < 14:
        raise SingError("truncated MIDI file (ends in the middle of a chunk)", path)
    size = int.from_bytes(data[4:8], "big")
    if size < 6:
        raise SingError(f"not a Standard MIDI File (header chunk of {size} bytes, 6 needed)",
                        path)
    kind = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    kept = [data[: 8 + size]]
    at = 8 + size
    while at + 8 <= len(data):
        name, length = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "big")
        if name == b"MTrk":
            kept.append(data[at : at + 8 + length])
        elif not all(32 <= b < 127 for b in name):
            break  # not a chunk: trailing bytes, which the standard lets readers ignore
        else:
            logger.debug("%s: skipping a %r chunk of %d bytes", path, name, length)
        at += 8 + length
    return kind, division, b"".join(kept)


def _open(path: Path):
    import io

    import mido

    from sing.utils.inputs import read_input

    data = read_input(path, "MIDI file")  # read once: a pipe works like a file
    kind, division, rebuilt = _midi_chunks(data, path)
    if kind > 2:
        raise SingError(f"not a Standard MIDI File (format {kind}; 0, 1 or 2 exist)", path)
    if division & 0x8000:
        raise SingError("SMPTE time division is not supported (only ticks per beat)", path)
    if division == 0:
        raise SingError("corrupt MIDI header (time division 0: no ticks per beat)", path)
    try:
        return mido.MidiFile(file=io.BytesIO(rebuilt), clip=True)
    except EOFError:
        raise SingError("truncated MIDI file (ends in the middle of a chunk)", path) from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as err:
        raise SingError(f"not a Standard MIDI File ({err})", path) from None


class _Clock:
    """Ticks -> seconds through a tempo map of (tick, microseconds per beat)."""

    def __init__(self, ticks_per_beat: int, tempos: list[tuple[int, int]]) -> None:
        self.ticks_per_beat = ticks_per_beat
        self.points: list[tuple[int, float, int]] = []  # (tick, seconds at tick, tempo)
        tick, seconds, tempo = 0, 0.0, _DEFAULT_TEMPO
        for at, new in sorted(tempos, key=lambda x: x[0]):
            seconds += (at - tick) * tempo / 1e6 / ticks_per_beat
            tick, tempo = at, new
            self.points.append((tick, seconds, tempo))
        self.points.insert(0, (0, 0.0, _DEFAULT_TEMPO))

    def seconds(self, tick: int) -> float:
        """Seconds at ``tick``."""
        lo, hi = 0, len(self.points) - 1
        while lo < hi:  # last point with point.tick <= tick
            mid = (lo + hi + 1) // 2
            if self.points[mid][0] <= tick:
                lo = mid
            else:
                hi = mid - 1
        at, seconds, tempo = self.points[lo]
        return seconds + (tick - at) * tempo / 1e6 / self.ticks_per_beat


def read_midi(path: str | Path) -> Score:
    """Read the notes of a Standard MIDI File.

    Raises :class:`SingError` (one line naming the file) if it is missing, not a MIDI file,
    truncated, uses SMPTE time (not supported) or a tempo of 0. Formats 0 and 1 play their
    tracks together; a format 2 file's independent patterns are played one after another.
    Chunks other than MThd / MTrk are skipped. A file without notes gives an empty
    :class:`Score`: the caller decides whether that is an error.
    """
    path = Path(path)
    midi = _open(path)
    score = Score(path=path, tracks=len(midi.tracks))
    tracks = list(enumerate(midi.tracks))
    channels = _Channels()
    if midi.type == 2:  # independent patterns, in sequence (each with its own tempo map)
        if len(tracks) > 1:
            logger.info("%s: format 2 file: its %d patterns are played one after another",
                        path, len(tracks))
        for pattern in tracks:
            score.length = _play([pattern], midi.ticks_per_beat, score, score.length, channels)
    else:
        score.length = _play(tracks, midi.ticks_per_beat, score, 0.0, channels)
    score.notes.sort(key=lambda n: (n.start, n.track, n.pitch))
    logger.debug("%s: %d notes, %d drum notes, %.1f s", path, len(score.notes),
                 score.drum_notes, score.length)
    return score


class _Channels:
    """The state of the 16 channels: program, sustain pedal."""

    def __init__(self) -> None:
        self.programs = [0] * 16
        self.pedal = [False] * 16


def _play(tracks: list, ticks_per_beat: int, score: Score, offset: float,
          channels: _Channels) -> float:
    """Add the notes of ``tracks`` (played together, starting ``offset`` seconds in) to
    ``score``; returns the seconds at their last event."""
    events = []  # (tick, track, order, message)
    tempos: list[tuple[int, int]] = []
    for t, track in tracks:
        tick = 0
        for order, msg in enumerate(track):
            tick += msg.time
            if msg.type == "set_tempo":
                if msg.tempo <= 0:
                    raise SingError(f"tempo 0 (set_tempo at tick {tick} of track {t}): every "
                                    "later note would sound at once", score.path)
                tempos.append((tick, msg.tempo))
            elif msg.type in ("note_on", "note_off", "program_change", "control_change",
                              "end_of_track"):
                events.append((tick, t, order, msg))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    clock = _Clock(ticks_per_beat, tempos)
    programs, pedal = channels.programs, channels.pedal
    sounding: dict[tuple[int, int], deque] = {}  # (channel, pitch) -> started notes
    held: list[list[tuple]] = [[] for _ in range(16)]  # released under the pedal
    last_tick = 0

    def finish(start: tuple, tick: int) -> None:
        start_tick, pitch, velocity, program, channel, track = start
        score.notes.append(NoteEvent(offset + clock.seconds(start_tick),
                                     offset + clock.seconds(tick), pitch, velocity, program,
                                     channel, track))

    for tick, t, _order, msg in events:
        last_tick = max(last_tick, tick)
        if msg.type == "end_of_track":
            continue
        ch = msg.channel
        if msg.type == "program_change":
            programs[ch] = msg.program
        elif msg.type == "control_change" and msg.control == 64:
            pedal[ch] = msg.value >= 64
            if not pedal[ch]:
                for start in held[ch]:
                    finish(start, tick)
                held[ch].clear()
        elif msg.type == "note_on" and msg.velocity > 0:
            if ch == DRUM_CHANNEL:
                score.drum_notes += 1
                continue
            start = (tick, msg.note, msg.velocity, programs[ch], ch, t)
            sounding.setdefault((ch, msg.note), deque()).append(start)
        elif msg.type in ("note_off", "note_on"):
            queue = sounding.get((ch, msg.note))
            if not queue:
                continue  # a stray note-off (or a drum's)
            start = queue.popleft()
            if pedal[ch]:
                held[ch].append(start)
            else:
                finish(start, tick)
    for queue in sounding.values():
        for start in queue:
            finish(start, last_tick)
    for starts in held:
        for start in starts:
            finish(start, last_tick)
    return offset + clock.seconds(last_tick)
