"""General MIDI programs and their place among NSynth's 11 families and 3 sources.

NSynth labels every instrument with a family (bass, brass, ..., vocal) and a source (acoustic,
electronic, synthetic). General MIDI groups its 128 programs by eight; most groups map onto
one NSynth family. The exceptions (synth pads, effects, ethnic, percussive, sound effects) go to
the nearest family by how the instrument is played: plucked -> guitar, struck -> mallet,
blown -> reed or flute, choir-like pads -> vocal, everything else synthetic -> synth_lead.
"""

from __future__ import annotations

from typing import NamedTuple

from sing.data.vocabulary import NSYNTH_FAMILIES, NSYNTH_SOURCES


class GMProgram(NamedTuple):
    """A General MIDI program: its number (0-127), GM name, NSynth family and source."""

    program: int
    name: str
    family: str
    source: str


_A, _E, _S = "acoustic", "electronic", "synthetic"

_TABLE: tuple[tuple[str, str, str], ...] = (
    # 0-7 piano
    ("Acoustic Grand Piano", "keyboard", _A), ("Bright Acoustic Piano", "keyboard", _A),
    ("Electric Grand Piano", "keyboard", _E), ("Honky-tonk Piano", "keyboard", _A),
    ("Electric Piano 1", "keyboard", _E), ("Electric Piano 2", "keyboard", _E),
    ("Harpsichord", "keyboard", _A), ("Clavinet", "keyboard", _E),
    # 8-15 chromatic percussion
    ("Celesta", "mallet", _A), ("Glockenspiel", "mallet", _A), ("Music Box", "mallet", _A),
    ("Vibraphone", "mallet", _A), ("Marimba", "mallet", _A), ("Xylophone", "mallet", _A),
    ("Tubular Bells", "mallet", _A), ("Dulcimer", "mallet", _A),
    # 16-23 organ
    ("Drawbar Organ", "organ", _E), ("Percussive Organ", "organ", _E),
    ("Rock Organ", "organ", _E), ("Church Organ", "organ", _A), ("Reed Organ", "organ", _A),
    ("Accordion", "organ", _A), ("Harmonica", "reed", _A), ("Tango Accordion", "organ", _A),
    # 24-31 guitar
    ("Acoustic Guitar (nylon)", "guitar", _A), ("Acoustic Guitar (steel)", "guitar", _A),
    ("Electric Guitar (jazz)", "guitar", _E), ("Electric Guitar (clean)", "guitar", _E),
    ("Electric Guitar (muted)", "guitar", _E), ("Overdriven Guitar", "guitar", _E),
    ("Distortion Guitar", "guitar", _E), ("Guitar Harmonics", "guitar", _E),
    # 32-39 bass
    ("Acoustic Bass", "bass", _A), ("Electric Bass (finger)", "bass", _E),
    ("Electric Bass (pick)", "bass", _E), ("Fretless Bass", "bass", _E),
    ("Slap Bass 1", "bass", _E), ("Slap Bass 2", "bass", _E),
    ("Synth Bass 1", "bass", _S), ("Synth Bass 2", "bass", _S),
    # 40-47 strings
    ("Violin", "string", _A), ("Viola", "string", _A), ("Cello", "string", _A),
    ("Contrabass", "string", _A), ("Tremolo Strings", "string", _A),
    ("Pizzicato Strings", "string", _A), ("Orchestral Harp", "string", _A),
    ("Timpani", "mallet", _A),
    # 48-55 ensemble
    ("String Ensemble 1", "string", _A), ("String Ensemble 2", "string", _A),
    ("Synth Strings 1", "string", _S), ("Synth Strings 2", "string", _S),
    ("Choir Aahs", "vocal", _A), ("Voice Oohs", "vocal", _A), ("Synth Voice", "vocal", _S),
    ("Orchestra Hit", "brass", _S),
    # 56-63 brass
    ("Trumpet", "brass", _A), ("Trombone", "brass", _A), ("Tuba", "brass", _A),
    ("Muted Trumpet", "brass", _A), ("French Horn", "brass", _A),
    ("Brass Section", "brass", _A), ("Synth Brass 1", "brass", _S),
    ("Synth Brass 2", "brass", _S),
    # 64-71 reed
    ("Soprano Sax", "reed", _A), ("Alto Sax", "reed", _A), ("Tenor Sax", "reed", _A),
    ("Baritone Sax", "reed", _A), ("Oboe", "reed", _A), ("English Horn", "reed", _A),
    ("Bassoon", "reed", _A), ("Clarinet", "reed", _A),
    # 72-79 pipe
    ("Piccolo", "flute", _A), ("Flute", "flute", _A), ("Recorder", "flute", _A),
    ("Pan Flute", "flute", _A), ("Blown Bottle", "flute", _A), ("Shakuhachi", "flute", _A),
    ("Whistle", "flute", _A), ("Ocarina", "flute", _A),
    # 80-87 synth lead
    ("Lead 1 (square)", "synth_lead", _S), ("Lead 2 (sawtooth)", "synth_lead", _S),
    ("Lead 3 (calliope)", "synth_lead", _S), ("Lead 4 (chiff)", "synth_lead", _S),
    ("Lead 5 (charang)", "synth_lead", _S), ("Lead 6 (voice)", "synth_lead", _S),
    ("Lead 7 (fifths)", "synth_lead", _S), ("Lead 8 (bass + lead)", "synth_lead", _S),
    # 88-95 synth pad
    ("Pad 1 (new age)", "synth_lead", _S), ("Pad 2 (warm)", "synth_lead", _S),
    ("Pad 3 (polysynth)", "synth_lead", _S), ("Pad 4 (choir)", "vocal", _S),
    ("Pad 5 (bowed)", "string", _S), ("Pad 6 (metallic)", "synth_lead", _S),
    ("Pad 7 (halo)", "vocal", _S), ("Pad 8 (sweep)", "synth_lead", _S),
    # 96-103 synth effects
    ("FX 1 (rain)", "synth_lead", _S), ("FX 2 (soundtrack)", "synth_lead", _S),
    ("FX 3 (crystal)", "mallet", _S), ("FX 4 (atmosphere)", "synth_lead", _S),
    ("FX 5 (brightness)", "synth_lead", _S), ("FX 6 (goblins)", "synth_lead", _S),
    ("FX 7 (echoes)", "synth_lead", _S), ("FX 8 (sci-fi)", "synth_lead", _S),
    # 104-111 ethnic
    ("Sitar", "guitar", _A), ("Banjo", "guitar", _A), ("Shamisen", "guitar", _A),
    ("Koto", "guitar", _A), ("Kalimba", "mallet", _A), ("Bagpipe", "reed", _A),
    ("Fiddle", "string", _A), ("Shanai", "reed", _A),
    # 112-119 percussive
    ("Tinkle Bell", "mallet", _A), ("Agogo", "mallet", _A), ("Steel Drums", "mallet", _A),
    ("Woodblock", "mallet", _A), ("Taiko Drum", "mallet", _A), ("Melodic Tom", "mallet", _A),
    ("Synth Drum", "mallet", _S), ("Reverse Cymbal", "mallet", _S),
    # 120-127 sound effects
    ("Guitar Fret Noise", "guitar", _A), ("Breath Noise", "flute", _A),
    ("Seashore", "synth_lead", _S), ("Bird Tweet", "flute", _S),
    ("Telephone Ring", "synth_lead", _S), ("Helicopter", "synth_lead", _S),
    ("Applause", "synth_lead", _S), ("Gunshot", "synth_lead", _S),
)

#: The 128 General MIDI programs (index = program number).
GM_PROGRAMS: tuple[GMProgram, ...] = tuple(
    GMProgram(i, name, family, source) for i, (name, family, source) in enumerate(_TABLE)
)
assert len(GM_PROGRAMS) == 128
assert all(p.family in NSYNTH_FAMILIES and p.source in NSYNTH_SOURCES for p in GM_PROGRAMS)


def instrument_str(program: int) -> str:
    """NSynth-style instrument name of a GM program: ``<family>_<source>_<program:03d>``,
    e.g. ``keyboard_acoustic_000`` for program 0 (Acoustic Grand Piano)."""
    p = GM_PROGRAMS[program]
    return f"{p.family}_{p.source}_{program:03d}"
