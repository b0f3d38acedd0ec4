"""Every file-name convention of sample folders: pitch, velocity, octave conventions, families."""

from __future__ import annotations

import pytest

from sing.data.sample_names import (
    guess_family,
    guess_source,
    instrument_slug,
    midi_to_note,
    nearest_velocity,
    note_to_midi,
    parse_sample_name,
)

# stem, middle C, expected (pitch, velocity)
NAMES = [
    # note names, scientific octaves (middle C = C4)
    ("C4", "C4", (60, None)),
    ("c4", "C4", (60, None)),
    ("C#4", "C4", (61, None)),
    ("Db4", "C4", (61, None)),
    ("db4", "C4", (61, None)),
    ("Cs4", "C4", (61, None)),
    ("C♯4", "C4", (61, None)),
    ("B♭3", "C4", (58, None)),
    ("Bb3", "C4", (58, None)),
    ("Cb4", "C4", (59, None)),
    ("E#4", "C4", (65, None)),
    ("A0", "C4", (21, None)),
    ("C8", "C4", (108, None)),
    ("C-1", "C4", (0, None)),
    ("G9", "C4", (127, None)),
    ("cello_A2_pp", "C4", (45, 25)),
    ("Cello-A#2-ff", "C4", (46, 127)),
    ("piano C#-1 ff", "C4", (1, 127)),
    # the other octave conventions: middle C called C3 (Yamaha, Ableton...) or C5
    ("C3", "C3", (60, None)),
    ("C4", "C3", (72, None)),
    ("C-2", "C3", (0, None)),
    ("A#2", "C3", (58, None)),
    ("C5", "C5", (60, None)),
    ("A4", "C5", (57, None)),
    # MIDI numbers
    ("060", "C4", (60, None)),
    ("piano_60", "C4", (60, None)),
    ("midi60", "C4", (60, None)),
    ("note_060", "C4", (60, None)),
    ("key-72", "C4", (72, None)),
    ("n21", "C4", (21, None)),
    ("060_100", "C4", (60, 100)),
    ("60-127", "C4", (60, 127)),
    ("060_010", "C4", (60, 25)),
    ("note_60_vel_100", "C4", (60, 100)),
    ("060_v64", "C4", (60, 75)),
    ("take_1", "C4", (None, None)),  # a take number is not a pitch
    ("take 3", "C4", (None, None)),
    ("cello", "C4", (None, None)),
    # NSynth note names
    ("guitar_acoustic_009-069-100", "C4", (69, 100)),
    ("keyboard_electronic_001-021-025", "C4", (21, 25)),
    ("string_acoustic_040-064-127", "C3", (64, 127)),  # the octave option does not apply
    # University of Iowa
    ("Piano.ff.C4", "C4", (60, 127)),
    ("Piano.pp.Bb1", "C4", (34, 25)),
    ("Piano.mf.Db5", "C4", (73, 75)),
    ("Violin.arco.ff.sulG.G3.stereo", "C4", (55, 127)),
    ("Cello.arco.pp.sulA.A4.stereo", "C4", (69, 25)),
    ("Flute.nonvib.mf.B5", "C4", (83, 75)),
    # Philharmonia
    ("violin_A4_1_forte_arco-normal", "C4", (69, 100)),
    ("cello_A2_025_pianissimo_arco-normal", "C4", (45, 25)),
    ("flute_A4_15_mezzo-piano_normal", "C4", (69, 50)),
    ("trumpet_C5_05_mezzo-forte_normal", "C4", (72, 75)),
    ("viola_As4_1_fortissimo_arco-normal", "C4", (70, 127)),
    ("clarinet_Gs3_phrase_piano_normal", "C4", (56, 50)),
    ("piano_C4_forte", "C4", (60, 100)),  # "piano" first: the instrument, not a dynamic
    # dynamics marks and velocity numbers
    ("C4_ppp", "C4", (60, 25)),
    ("C4_p", "C4", (60, 50)),
    ("C4_mp", "C4", (60, 50)),
    ("C4_mf", "C4", (60, 75)),
    ("C4_f", "C4", (60, 100)),
    ("C4_fff", "C4", (60, 127)),
    ("C4_FF", "C4", (60, 127)),
    ("C4_v1", "C4", (60, 25)),
    ("C4_vel87", "C4", (60, 75)),
    ("C4_vel88", "C4", (60, 100)),  # a tie between 75 and 100 goes to the louder
    ("C4_velocity127", "C4", (60, 127)),
    ("C4-v100", "C4", (60, 100)),
    ("C4_rr2_f", "C4", (60, 100)),
]


@pytest.mark.parametrize(("stem", "middle_c", "expected"), NAMES)
def test_pitch_and_velocity(stem: str, middle_c: str, expected: tuple):
    name = parse_sample_name(stem, middle_c)
    assert name.problem is None, name.problem
    assert (name.pitch, name.velocity) == expected


# names that cannot be used, and the words their problem names
PROBLEMS = [
    ("Horn.ff.C4B4", "C4B4"),  # a range of notes (Iowa's multi-note files)
    ("C4_E4", "several pitches"),
    ("C4_pp_ff", "several dynamics"),
    ("C4_ff_v20", "several dynamics"),
    ("G9", "outside MIDI's 0-127"),  # with middle C = C3, G9 is 139
    ("C4_v0", "outside MIDI's 1-127"),
    ("C4_v200", "outside MIDI's 1-127"),
]


@pytest.mark.parametrize(("stem", "words"), PROBLEMS)
def test_names_with_problems(stem: str, words: str):
    name = parse_sample_name(stem, "C3" if stem == "G9" else "C4")
    assert name.problem is not None and words in name.problem
    assert name.pitch is None and name.velocity is None


def test_exact_velocity_prefers_the_canonical_mark():
    assert parse_sample_name("C4_ff").exact_velocity
    assert not parse_sample_name("C4_fff").exact_velocity
    assert parse_sample_name("C4_v127").exact_velocity
    assert not parse_sample_name("C4_v120").exact_velocity
    assert parse_sample_name("violin_A4_1_forte").exact_velocity
    assert not parse_sample_name("flute_A4_15_mezzo-piano").exact_velocity


def test_note_arithmetic_against_a_reference():
    # reference: A4 = 440 Hz = MIDI 69, every semitone a factor 2 ** (1/12)
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    for pitch in range(128):
        for middle_c in ("C3", "C4", "C5"):
            text = midi_to_note(pitch, middle_c)
            letter, octave = text.rstrip("-0123456789"), text[len(text.rstrip("-0123456789")):]
            assert letter == names[pitch % 12]
            assert note_to_midi(letter[0], letter[1:], int(octave), middle_c) == pitch
            assert parse_sample_name(text, middle_c).pitch == pitch
    assert midi_to_note(60, "C4") == "C4" and midi_to_note(60, "C3") == "C3"
    assert midi_to_note(21, "C4") == "A0" and midi_to_note(0, "C4") == "C-1"


def test_nearest_velocity():
    assert [nearest_velocity(v) for v in (1, 37, 38, 62, 63, 113, 114, 127)] == [
        25, 25, 50, 50, 75, 100, 127, 127]


@pytest.mark.parametrize(("name", "family"), [
    ("my_cello", "string"), ("Violin", "string"), ("contrabass", "string"),
    ("Double Bass", "string"), ("bassoon", "reed"), ("alto_sax", "reed"),
    ("English Horn", "reed"), ("french_horn", "brass"), ("Trumpet", "brass"),
    ("electric_bass", "bass"), ("Bass Guitar", "bass"), ("nylon_guitar", "guitar"),
    ("Piano", "keyboard"), ("rhodes", "keyboard"), ("marimba", "mallet"),
    ("church_organ", "organ"), ("flute", "flute"), ("choir", "vocal"),
    ("synth_lead", "synth_lead"), ("harpsichord", "keyboard"), ("harp", "string"),
    ("my_thing", None),
])
def test_guess_family(name: str, family: str | None):
    assert guess_family(name) == family


def test_slug_and_source():
    assert instrument_slug("My Cello (2019)") == "my_cello_2019"
    assert instrument_slug("Violoncelle Ré") == "violoncelle_re"
    assert instrument_slug("--") == ""
    assert guess_source("rhodes", "keyboard") == "electronic"
    assert guess_source("synth_strings", "string") == "synthetic"
    assert guess_source("my_cello", "string") == "acoustic"
