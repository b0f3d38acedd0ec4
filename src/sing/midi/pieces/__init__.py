"""Bundled pieces, typed in as note lists and written as MIDI files by our own code.

``canon.mid`` (package data, beside this file) is Johann Pachelbel's Canon in D (c. 1680,
public domain), arranged here for four General MIDI instruments: the ground bass on the piano
(D A B F# G D G A, two beats each, 16 beats a cycle), then a canon of three voices (violin,
flute, vibraphone) each entering one cycle after the other with the same melody (the opening
half-note line, then the quarter-note variation), and nylon-guitar arpeggios in the last
cycle; a final D major chord. 5 cycles at 96 bpm: 52.5 s.

Regenerate it with ``python -m sing.midi.pieces`` (the bytes are deterministic);
:func:`canon_parts` with more cycles gives longer pieces (``benchmarks/render.py`` uses 13
cycles, 2 min 12 s).
"""

from __future__ import annotations

from pathlib import Path

from sing.midi.writer import Part, write_midi

#: The bundled piece (package data).
CANON: Path = Path(__file__).resolve().parent / "canon.mid"
CANON_BPM = 96.0
CANON_CYCLES = 5

_D2, _FS2, _G2, _A2, _B2 = 38, 42, 43, 45, 47
#: The ground bass, one cycle: (pitch, beats).
GROUND = [(50, 2), (_A2, 2), (_B2, 2), (_FS2, 2), (_G2, 2), (_D2, 2), (_G2, 2), (_A2, 2)]
#: The canon's first statement, half notes: F#5 E5 D5 C#5 B4 A4 B4 C#5.
MELODY_A = [(78, 2), (76, 2), (74, 2), (73, 2), (71, 2), (69, 2), (71, 2), (73, 2)]
#: Its quarter-note variation: D F# A G | F# D F# E | D B D A | G B A G.
MELODY_B = [(p, 1) for p in (74, 78, 81, 79, 78, 74, 78, 76, 74, 71, 74, 69, 67, 71, 69, 67)]
#: Eighth-note arpeggios over each chord of the cycle (D A Bm F#m G D G A).
ARPEGGIOS = [(62, 66, 69, 66), (61, 64, 69, 64), (62, 66, 71, 66), (61, 66, 69, 66),
             (62, 67, 71, 67), (62, 66, 69, 66), (62, 67, 71, 67), (61, 64, 69, 64)]
_CYCLE = 16  # beats


def _line(line: list[tuple[int, int]], start: float, velocity: int) -> list:
    notes, beat = [], start
    for pitch, beats in line:
        notes.append((beat, beats * 0.95, pitch, velocity))
        beat += beats
    return notes


def canon_parts(cycles: int = CANON_CYCLES) -> list[Part]:
    """Pachelbel's Canon in D for piano, violin, flute, vibraphone and guitar, ``cycles`` cycles
    of the ground bass (>= 2) and a final chord."""
    if cycles < 2:
        raise ValueError("the canon needs at least 2 cycles")
    bass = Part("Ground bass (piano)", 0, 0)
    voices = [Part("Violin", 1, 40), Part("Flute", 2, 73), Part("Vibraphone", 3, 11)]
    guitar = Part("Guitar", 4, 24)
    for cycle in range(cycles):
        start = cycle * _CYCLE
        bass.notes += _line(GROUND, start, 80)
        bass.notes += _line([(p + 12, b) for p, b in GROUND], start, 60)  # octave doubling
        for v, voice in enumerate(voices):
            entered = cycle - 1 - v  # voice v enters at cycle v + 1
            if entered >= 0:
                melody = MELODY_A if entered % 2 == 0 else MELODY_B
                voice.notes += _line(melody, start, (100, 90, 75)[v])
        if cycle >= max(3, cycles - 1) or (cycles > 6 and cycle % 3 == 0 and cycle > 0):
            for c, chord in enumerate(ARPEGGIOS):
                for i, pitch in enumerate(chord):
                    guitar.notes.append((start + 2 * c + 0.5 * i, 0.45, pitch, 70))
    end = cycles * _CYCLE
    bass.notes += [(end, 4, _D2, 85), (end, 4, 50, 70)]
    for voice, pitch in zip(voices, (74, 78, 69), strict=True):
        voice.notes.append((end, 4, pitch, 85))
    guitar.notes.append((end, 4, 62, 70))
    return [bass, *voices, guitar]


def write_canon(path: str | Path, cycles: int = CANON_CYCLES, bpm: float = CANON_BPM) -> Path:
    """Write the canon (``cycles`` cycles, (16 * cycles + 4) beats at ``bpm``) as a MIDI file."""
    return write_midi(path, canon_parts(cycles), bpm, title="Pachelbel: Canon in D")


def bundled_piece() -> Path:
    """The bundled piece's path (``sing/midi/pieces/canon.mid``)."""
    return CANON
