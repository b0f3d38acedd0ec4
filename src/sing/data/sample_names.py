"""What a sample file's name says: the pitch, the dynamics and the instrument's family.

Sample folders name their notes in a handful of conventions, all read here from the file name
without its extension (the *stem*):

- NSynth note names: ``guitar_acoustic_009-069-100`` (pitch 69, velocity 100).
- Note names: ``C4``, ``C#4``, ``Db4``, ``c4``, ``Cs4`` (``s`` = sharp, as in
  ``violin_As4_...``), ``C♯4``, ``B♭3``, negative octaves ``C-1``. Which octave middle C (MIDI
  60) is in depends on the maker: ``C4`` (scientific pitch notation, the default), ``C3``
  (Yamaha, Ableton, FL Studio...) or ``C5``; ``middle_c`` chooses.
- MIDI numbers: ``060.wav``, ``piano_60.wav``, ``midi60``, ``note_60``, ``key60``; a stem of
  exactly two numbers is ``PITCH_VELOCITY`` (``060_100.wav``). Any other bare number (a take,
  a duration as in Philharmonia's ``_1_`` / ``_025_``) is ignored when the name has a note.
- Library layouts: University of Iowa ``Piano.ff.C4.aiff``, ``Violin.arco.ff.sulG.G3.stereo``;
  Philharmonia ``violin_A4_1_forte_arco-normal.mp3``, ``flute_A4_15_mezzo-piano_normal``.

Words are separated by ``_``, ``.``, ``-``, spaces, commas and brackets (a ``-`` right before
an octave digit belongs to the note: ``C-1``).

Dynamics: ``ppp``/``pp`` -> 25, ``p``/``mp`` -> 50, ``mf`` -> 75, ``f`` -> 100,
``ff``/``fff`` -> 127 (NSynth's five velocities), also the Italian words (``pianissimo``,
``piano``, ``mezzo-piano``, ``mezzo-forte``, ``forte``, ``fortissimo``; ``piano`` as the
*first* word is the instrument, as in ``Piano.ff.C4``) and velocity numbers (``v100``,
``vel100``, ``vel_100``, ``velocity100``) mapped to the nearest of the five.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sing.data.vocabulary import NSYNTH_FAMILIES, NSYNTH_VELOCITIES

#: Where middle C (MIDI 60) is: the octave conventions of sample makers.
MIDDLE_C_CONVENTIONS: tuple[str, ...] = ("C4", "C3", "C5")
#: The velocity of a note whose name has no dynamics.
DEFAULT_VELOCITY: int = 100

_SEMITONES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "s": 1, "b": -1, "♭": -1}
_NOTE = re.compile(r"([a-g])(#|♯|s|b|♭)?(10|-?\d)", re.IGNORECASE)
_RANGE = re.compile(r"(?:[a-g](?:#|♯|b|♭)?\d){2,}", re.IGNORECASE)
_NSYNTH = re.compile(r"^(?P<instrument>.+)-(?P<pitch>\d{3})-(?P<velocity>\d{3})$")
_NUMBER = re.compile(r"\d{1,3}")
_PREFIXED_PITCH = re.compile(r"(?:midi|note|key|n)(\d{1,3})", re.IGNORECASE)
_PREFIXED_VELOCITY = re.compile(r"(?:v|vel|velocity)(\d{1,3})", re.IGNORECASE)
_VELOCITY_WORDS = ("v", "vel", "velocity")
_PITCH_WORDS = ("midi", "note", "key")
# Separators; a '-' between a note letter and one octave digit stays (C-1, C#-1).
_SPLIT = re.compile(r"[\s_.,()\[\]{}+]+|(?<![a-gA-G#♯♭s])-|-(?!\d(?!\d))")
#: Bare numbers from C0 up are MIDI pitches (1, 2... are takes).
_BARE_PITCHES = range(12, 128)

#: Dynamics marks and words -> NSynth velocity.
DYNAMICS: dict[str, int] = {
    "pppp": 25, "ppp": 25, "pp": 25, "p": 50, "mp": 50, "mf": 75, "f": 100, "ff": 127,
    "fff": 127, "ffff": 127, "pianississimo": 25, "pianissimo": 25, "piano": 50,
    "mezzopiano": 50, "mezzoforte": 75, "forte": 100, "fortissimo": 127, "fortississimo": 127,
}
#: Dynamics written as words (``piano`` as the first word is an instrument's name).
_DYNAMIC_WORDS = frozenset(k for k in DYNAMICS if len(k) > 4)
#: The marks each NSynth velocity stands for (a take with exactly such a mark is preferred).
CANONICAL_MARKS: dict[int, tuple[str, str]] = {
    25: ("pp", "pianissimo"), 50: ("p", "piano"), 75: ("mf", "mezzoforte"), 100: ("f", "forte"),
    127: ("ff", "fortissimo"),
}


@dataclass(frozen=True)
class SampleName:
    """What a file name says about its note.

    Attributes:
        pitch: MIDI pitch, or None when the name has none.
        velocity: one of NSynth's five velocities, or None when the name has no dynamics.
        pitch_text: the words the pitch was read from (``C#4``, ``060``), or None.
        velocity_text: the words the velocity was read from (``ff``, ``v100``), or None.
        exact_velocity: the velocity is exactly what the name says (``ff``, ``v127``), not the
            nearest of NSynth's five to it (``fff``, ``v110``): preferred among takes.
        problem: why the name cannot be used (two different notes, a range of notes...), else
            None.
    """

    pitch: int | None
    velocity: int | None
    pitch_text: str | None = None
    velocity_text: str | None = None
    exact_velocity: bool = True
    problem: str | None = None


def nearest_velocity(velocity: int) -> int:
    """The NSynth velocity nearest a MIDI velocity (1-127; a tie goes to the louder)."""
    return min(NSYNTH_VELOCITIES, key=lambda v: (abs(v - velocity), -v))


def note_to_midi(letter: str, accidental: str, octave: int, middle_c: str = "C4") -> int:
    """MIDI pitch of a note name's parts, e.g. ``("C", "#", 4)`` -> 61 with middle C = C4."""
    if middle_c not in MIDDLE_C_CONVENTIONS:
        raise ValueError(f"middle_c must be one of {MIDDLE_C_CONVENTIONS}, not {middle_c!r}")
    base = 12 * (octave + 5 - int(middle_c[1]))
    return base + _SEMITONES[letter.lower()] + _ACCIDENTALS[accidental]


def midi_to_note(pitch: int, middle_c: str = "C4") -> str:
    """The name of a MIDI pitch in the given convention (sharps), e.g. 61 -> ``C#4``."""
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[pitch % 12]}{pitch // 12 - 5 + int(middle_c[1])}"


def _words(stem: str) -> list[str]:
    stem = unicodedata.normalize("NFC", stem)
    stem = re.sub(r"mezzo[-_ ]?(piano|forte)", r"mezzo\1", stem, flags=re.IGNORECASE)
    return [w for w in _SPLIT.split(stem) if w]


def _note_of(word: str, middle_c: str) -> int | None:
    m = _NOTE.fullmatch(word)
    if m is None:
        return None
    letter, accidental, octave = m[1], m[2] or "", int(m[3])
    if accidental == "B":  # "BB3" reads as B-flat 3, but "S" is not a sharp in capitals
        accidental = "b"
    if accidental not in _ACCIDENTALS:
        return None
    return note_to_midi(letter, accidental, octave, middle_c)


def parse_sample_name(stem: str, middle_c: str = "C4") -> SampleName:
    """Read the pitch and the velocity from a sample file's stem (see the module's docstring).

    A pitch outside MIDI's 0-127 or two different notes in one name give a
    :attr:`SampleName.problem`; a name without any pitch gives ``pitch=None`` (to be measured).
    """
    m = _NSYNTH.fullmatch(stem)
    if m is not None and int(m["pitch"]) <= 127 and 1 <= int(m["velocity"]) <= 127:
        velocity = int(m["velocity"])
        return SampleName(int(m["pitch"]), nearest_velocity(velocity), stem, stem,
                          velocity in NSYNTH_VELOCITIES)
    words = _words(stem)
    if len(words) == 2 and all(_NUMBER.fullmatch(w) for w in words):  # PITCH_VELOCITY: 060_100
        return _checked(int(words[0]), words[0], [], [(f"{words[0]}_{words[1]}", int(words[1]))])
    notes: list[tuple[str, int]] = []
    numbers: list[tuple[str, int]] = []
    prefixed: list[tuple[str, int]] = []
    dynamics: list[str] = []
    velocities: list[tuple[str, int]] = []
    problem: str | None = None
    for i, word in enumerate(words):
        lower = word.lower()
        previous = words[i - 1].lower() if i else ""
        midi = _note_of(word, middle_c)
        if midi is not None:
            notes.append((word, midi))
        elif _RANGE.fullmatch(word):
            problem = f"'{word}' is a range of notes, not one note"
        elif lower in DYNAMICS and not (lower in _DYNAMIC_WORDS and i == 0):
            dynamics.append(lower)
        elif (v := _PREFIXED_VELOCITY.fullmatch(word)) is not None:
            velocities.append((word, int(v[1])))
        elif (p := _PREFIXED_PITCH.fullmatch(word)) is not None:
            prefixed.append((word, int(p[1])))
        elif _NUMBER.fullmatch(word):
            if previous in _VELOCITY_WORDS:
                velocities.append((f"{words[i - 1]}_{word}", int(word)))
            elif previous in _PITCH_WORDS:
                prefixed.append((f"{words[i - 1]}_{word}", int(word)))
            elif int(word) in _BARE_PITCHES:
                numbers.append((word, int(word)))
    pitch_candidates = notes or prefixed or numbers[:1]
    pitches = {p for _, p in pitch_candidates}
    if len(pitches) > 1:
        shown = ", ".join(w for w, _ in pitch_candidates)
        problem = problem or f"several pitches in the name ({shown})"
    pitch_text, pitch = pitch_candidates[0] if pitch_candidates else (None, None)
    result = _checked(pitch, pitch_text, dynamics, velocities)
    if problem is not None:
        return SampleName(None, None, result.pitch_text, result.velocity_text,
                          result.exact_velocity, problem)
    return result


def _checked(pitch: int | None, pitch_text: str | None, dynamics: list[str],
             velocities: list[tuple[str, int]]) -> SampleName:
    """The :class:`SampleName` of the pitch and velocity words found in a name."""
    problem: str | None = None
    if pitch is not None and not 0 <= pitch <= 127:
        problem = f"'{pitch_text}' is pitch {pitch}, outside MIDI's 0-127"
        pitch = None
    velocity: int | None = None
    velocity_text: str | None = None
    exact = True
    marks = {DYNAMICS[d] for d in dynamics} | {nearest_velocity(max(1, min(v, 127)))
                                                   for _, v in velocities}
    if len(marks) > 1:
        shown = ", ".join(dynamics + [w for w, _ in velocities])
        problem = problem or f"several dynamics in the name ({shown})"
    elif dynamics:
        velocity_text = dynamics[0]
        velocity = DYNAMICS[velocity_text]
        exact = velocity_text in CANONICAL_MARKS[velocity]
    elif velocities:
        velocity_text, raw = velocities[0]
        if not 1 <= raw <= 127:
            problem = problem or f"'{velocity_text}' is velocity {raw}, outside MIDI's 1-127"
        else:
            velocity = nearest_velocity(raw)
            exact = velocity == raw
    if problem is not None:
        return SampleName(None, None, pitch_text, velocity_text, exact, problem)
    return SampleName(pitch, velocity, pitch_text, velocity_text, exact)


# -- instruments ---------------------------------------------------------------------------

#: Words of instrument names -> NSynth family, the first match wins (so ``bassoon`` is a reed
#: before ``bass`` is a bass, ``english horn`` a reed before ``horn`` is brass, ``flute`` a
#: flute before ``lute`` is a guitar, ``harpsichord`` a keyboard before ``harp`` a string).
FAMILY_WORDS: tuple[tuple[str, str], ...] = (
    ("englishhorn", "reed"), ("coranglais", "reed"), ("bassoon", "reed"),
    ("contrabass", "string"), ("doublebass", "string"), ("bassguitar", "bass"),
    ("sax", "reed"), ("clarinet", "reed"), ("oboe", "reed"), ("harmonica", "reed"),
    ("bagpipe", "reed"), ("reed", "reed"),
    ("flute", "flute"), ("piccolo", "flute"), ("recorder", "flute"), ("ocarina", "flute"),
    ("whistle", "flute"), ("shakuhachi", "flute"), ("fife", "flute"),
    ("harpsichord", "keyboard"), ("violoncello", "string"), ("violin", "string"),
    ("viola", "string"), ("cello", "string"),
    ("fiddle", "string"), ("harp", "string"), ("string", "string"),
    ("piano", "keyboard"), ("keys", "keyboard"), ("keyboard", "keyboard"),
    ("rhodes", "keyboard"), ("wurli", "keyboard"), ("clav", "keyboard"),
    ("marimba", "mallet"), ("vibraphone", "mallet"), ("vibes", "mallet"),
    ("xylophone", "mallet"), ("glock", "mallet"), ("celesta", "mallet"),
    ("bell", "mallet"), ("chime", "mallet"), ("kalimba", "mallet"), ("mallet", "mallet"),
    ("dulcimer", "mallet"), ("timpani", "mallet"),
    ("organ", "organ"), ("accordion", "organ"), ("harmonium", "organ"),
    ("guitar", "guitar"), ("banjo", "guitar"), ("mandolin", "guitar"), ("ukulele", "guitar"),
    ("sitar", "guitar"), ("lute", "guitar"),
    ("bass", "bass"),
    ("trumpet", "brass"), ("trombone", "brass"), ("tuba", "brass"), ("horn", "brass"),
    ("cornet", "brass"), ("euphonium", "brass"), ("brass", "brass"),
    ("voice", "vocal"), ("vocal", "vocal"), ("vox", "vocal"), ("choir", "vocal"),
    ("soprano", "vocal"), ("sing", "vocal"),
    ("synth", "synth_lead"), ("lead", "synth_lead"), ("saw", "synth_lead"),
    ("square", "synth_lead"),
)


def instrument_slug(name: str) -> str:
    """An instrument name fit for NSynth note names and the command line: lower case ASCII
    letters, digits and ``_`` (``My Cello (2019)`` -> ``my_cello_2019``); may be empty."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def guess_family(name: str) -> str | None:
    """The NSynth family an instrument's name suggests (``my_cello`` -> ``string``), or None."""
    condensed = re.sub(r"[^a-z]", "", name.lower())
    for word, family in FAMILY_WORDS:
        if word in condensed:
            return family
    return None


def guess_source(name: str, family: str) -> str:
    """NSynth's source of an instrument: ``synthetic`` for synths, ``electronic`` for electric
    instruments (by name), else ``acoustic`` (a recorded instrument)."""
    condensed = re.sub(r"[^a-z]", "", name.lower())
    if family == "synth_lead" or "synth" in condensed:
        return "synthetic"
    if any(w in condensed for w in ("electric", "rhodes", "wurli", "epiano", "clav")):
        return "electronic"
    return "acoustic"


def check_family(family: str) -> str:
    """``family`` if it is one of NSynth's, else raise ValueError listing them."""
    if family not in NSYNTH_FAMILIES:
        raise ValueError(f"unknown family '{family}' (one of {', '.join(NSYNTH_FAMILIES)})")
    return family
