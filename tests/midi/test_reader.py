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


# -- issue 20, item 7: edge cases of the standard; item 5: inputs read once ---------------

def _one_note_file(path: Path, kind: int = 0, tracks: int = 1, tempo: int = 500_000) -> Path:
    midi = mido.MidiFile(type=kind, ticks_per_beat=100)
    for i in range(tracks):
        track = mido.MidiTrack()
        track += [mido.MetaMessage("set_tempo", tempo=tempo, time=0),
                  mido.Message("note_on", note=60 + i, velocity=80, time=0),
                  mido.Message("note_off", note=60 + i, time=100)]  # one beat
        midi.tracks.append(track)
    midi.save(str(path))
    return path


def test_tempo_zero_is_refused_in_one_line(tmp_path: Path):
    path = _one_note_file(tmp_path / "zero.mid", tempo=0)
    with pytest.raises(SingError, match=r"zero\.mid: tempo 0 \(set_tempo at tick 0 of track 0"):
        read_midi(path)


def test_format_2_patterns_play_one_after_another(tmp_path: Path):
    path = _one_note_file(tmp_path / "two.mid", kind=2, tracks=2, tempo=1_000_000)  # 1 s/beat
    score = read_midi(path)
    assert [(n.start, n.end, n.pitch, n.track) for n in score.notes] == [
        (0.0, 1.0, 60, 0), (1.0, 2.0, 61, 1)]
    assert score.length == pytest.approx(2.0)
    same = read_midi(_one_note_file(tmp_path / "one.mid", kind=1, tracks=2, tempo=1_000_000))
    assert [(n.start, n.pitch) for n in same.notes] == [(0.0, 60), (0.0, 61)]  # together


def test_time_division_zero_is_not_called_smpte(tmp_path: Path):
    data = bytearray(_one_note_file(tmp_path / "x.mid").read_bytes())
    data[12:14] = b"\x00\x00"
    (tmp_path / "div0.mid").write_bytes(bytes(data))
    with pytest.raises(SingError, match="time division 0") as err:
        read_midi(tmp_path / "div0.mid")
    assert "SMPTE" not in str(err.value)
    data[12:14] = b"\xe7\x28"  # -25 fps, 40 ticks per frame
    (tmp_path / "smpte.mid").write_bytes(bytes(data))
    with pytest.raises(SingError, match="SMPTE time division"):
        read_midi(tmp_path / "smpte.mid")


def test_unknown_chunks_anywhere_are_skipped(tmp_path: Path):
    plain = read_midi(_one_note_file(tmp_path / "x.mid", kind=1, tracks=2))
    data = (tmp_path / "x.mid").read_bytes()
    alien = b"XFIH" + (5).to_bytes(4, "big") + b"hello"
    first = 14  # after MThd
    second = first + 8 + int.from_bytes(data[first + 4 : first + 8], "big")
    odd = data[:first] + alien + data[first:second] + alien + data[second:] + alien
    (tmp_path / "alien.mid").write_bytes(odd)
    score = read_midi(tmp_path / "alien.mid")
    assert [(n.start, n.end, n.pitch) for n in score.notes] == [
        (n.start, n.end, n.pitch) for n in plain.notes]
    assert len(score.notes) == 2


def test_a_pipe_is_read_once_and_a_fifo_never_hangs(tmp_path: Path):
    import os
    import subprocess
    import sys

    path = _one_note_file(tmp_path / "x.mid")
    # a real pipe, as `sing render <(cat x.mid)` gives: readable once only
    code = ("import sys\nfrom sing.midi.reader import read_midi\n"
            "s = read_midi(sys.argv[1])\nprint(len(s.notes), s.notes[0].pitch)\n")
    with open(path, "rb") as source:
        proc = subprocess.run([sys.executable, "-c", code, "/dev/stdin"], stdin=source,
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["1", "60"]
    r, w = os.pipe()
    os.write(w, path.read_bytes())
    os.close(w)
    proc = subprocess.run([sys.executable, "-c", code, f"/dev/fd/{r}"], pass_fds=(r,),
                          capture_output=True, text=True, timeout=60)
    os.close(r)
    assert proc.returncode == 0 and proc.stdout.split() == ["1", "60"], proc.stderr
    fifo = tmp_path / "fifo.mid"
    os.mkfifo(fifo)  # no writer: an empty input at once, not a hang
    with pytest.raises(SingError, match=r"fifo\.mid: not a Standard MIDI File \(an empty file"):
        read_midi(fifo)
    with pytest.raises(SingError, match=r"null: is not a regular file \(a device"):
        read_midi("/dev/null")
