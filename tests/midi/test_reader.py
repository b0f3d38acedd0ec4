"""Reading Standard MIDI Files written by mido: timing, programs, drums, pedal, bad files."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest
from midi_helpers import write_midi

from sing.errors import SingError
from sing.midi.reader import read_midi


def test_multi_track_timing_programs_and_drums(tmp_path: Path):
    path = write_midi(tmp_path / "song.mid", [
        (0, 0, [(0, 1, 60, 100), (1, 0.5, 62, 90)]),
        (1, 40, [(0.5, 2, 48, 64)]),
        (9, 0, [(0, 0.25, 36, 127), (1, 0.25, 38, 127)]),
    ], bpm=60)
    score = read_midi(path)
    assert score.tracks == 4 and score.drum_notes == 2
    got = [(n.start, n.end, n.pitch, n.velocity, n.program, n.channel, n.track)
           for n in score.notes]
    assert got == [(0.0, 1.0, 60, 100, 0, 0, 1), (0.5, 2.5, 48, 64, 40, 1, 2),
                   (1.0, 1.5, 62, 90, 0, 0, 1)]
    assert score.programs == [0, 40]
    assert score.length == pytest.approx(2.5)


def test_tempo_change_program_change_pedal_and_open_notes(tmp_path: Path):
    midi = mido.MidiFile(type=0, ticks_per_beat=100)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    m = mido.Message
    track += [
        mido.MetaMessage("set_tempo", tempo=1_000_000, time=0),  # 60 bpm: 100 ticks = 1 s
        m("note_on", note=60, velocity=80, time=0),
        m("note_on", note=60, velocity=0, time=100),  # velocity 0 = note off, at 1 s
        mido.MetaMessage("set_tempo", tempo=500_000, time=0),  # 120 bpm from 1 s
        m("program_change", program=73, time=0),
        m("control_change", control=64, value=127, time=0),  # pedal down
        m("note_on", note=67, velocity=50, time=0),
        m("note_off", note=67, time=100),  # at 1.5 s, held by the pedal...
        m("control_change", control=64, value=0, time=100),  # ... until 2 s
        m("note_on", note=72, velocity=30, time=0),  # never released: ends with the file
        m("note_off", note=50, time=200),  # a stray note-off, at 3 s
    ]
    score = read_midi(midi.save(str(tmp_path / "x.mid")) or tmp_path / "x.mid")
    got = [(n.start, n.end, n.pitch, n.program) for n in score.notes]
    assert got == [(0.0, 1.0, 60, 0), (1.0, 2.0, 67, 73), (2.0, 3.0, 72, 73)]
    assert score.length == pytest.approx(3.0)


@pytest.mark.parametrize("content, message", [
    (b"", "not a Standard MIDI File"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "not a Standard MIDI File"),
    ("cut", "truncated MIDI file"),
    (None, "no such file or directory"),
])
def test_bad_files_are_one_line(tmp_path: Path, content, message):
    path = tmp_path / "bad.mid"
    if content == "cut":
        good = write_midi(tmp_path / "good.mid", [(0, 0, [(0, 1, 60, 100), (1, 1, 62, 100)])])
        content = good.read_bytes()[:-9]
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SingError) as info:
        read_midi(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    assert "\n" not in str(info.value)
