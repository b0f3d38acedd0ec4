"""The music benchmark's pieces: public-domain scores from music21's corpus, as MIDI files.

Each :class:`Piece` names a score of the music21 corpus (``music21.corpus.parse(source)``), the
measures taken, a tempo, and for each of its parts the General MIDI program, velocity and
channel that play it. :func:`build_piece` turns it into note lists (ties joined, grace notes
left out, chords split into notes, each note ``legato`` of its written length) and writes them
with our own :func:`sing.midi.writer.write_midi`; the files are checked in beside this module
(package data), so the benchmark and CI need no music21. Rebuild them with
``python -m sing.midi.pieces.music`` (needs ``pip install music21``; deterministic bytes).

The set (:data:`PIECES`): a piano sonata and a ragtime, a string quartet, a Bach chorale as
woodwinds and another as brass, and a trio sonata mixing families (violin, flute, organ);
20-50 s each. The scores are public domain; music21's corpus files carry their own licences
(see music21's ``corpus/license.txt``): only notes, tempi and our instrument choices are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sing.errors import SingError
from sing.midi.writer import Part, write_midi

FOLDER: Path = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Voice:
    """Who plays one part of the score: ``name``, GM ``program``, ``velocity``, ``channel``."""

    name: str
    program: int
    velocity: int
    channel: int


@dataclass(frozen=True)
class Piece:
    """A score excerpt of music21's corpus and how it is played (see the module docstring)."""

    name: str
    title: str
    kind: str
    source: str
    measures: tuple[int, int]
    bpm: float
    voices: tuple[Voice, ...]
    legato: float = 0.95

    @property
    def path(self) -> Path:
        """The checked-in MIDI file."""
        return FOLDER / f"{self.name}.mid"


def _v(name: str, program: int, velocity: int, channel: int) -> Voice:
    return Voice(name, program, velocity, channel)


PIECES: tuple[Piece, ...] = (
    Piece("mozart-k545", "Mozart: Piano Sonata K. 545, i, bars 1-12", "piano",
          "mozart/k545/movement1_exposition", (1, 12), 116.0,
          (_v("Right hand", 0, 80, 0), _v("Left hand", 0, 64, 1))),
    Piece("joplin-maple-leaf", "Joplin: Maple Leaf Rag, bars 1-24", "piano",
          "joplin/maple_leaf_rag", (1, 24), 96.0,
          (_v("Right hand", 0, 84, 0), _v("Left hand", 0, 72, 1))),
    Piece("haydn-op74no1", "Haydn: String Quartet Op. 74 No. 1, i, bars 1-20",
          "string quartet", "haydn/opus74no1/movement1", (1, 20), 132.0,
          (_v("Violin 1", 40, 88, 0), _v("Violin 2", 40, 78, 1), _v("Viola", 41, 78, 2),
           _v("Cello", 42, 84, 3))),
    Piece("bach-bwv66.6-winds", "Bach: chorale BWV 66.6 as a wind quartet", "wind chorale",
          "bach/bwv66.6", (0, 10), 72.0,
          (_v("Flute", 73, 88, 0), _v("Oboe", 68, 78, 1), _v("Clarinet", 71, 78, 2),
           _v("Bassoon", 70, 84, 3)), legato=0.98),
    Piece("bach-bwv269-brass", "Bach: chorale BWV 269 as a brass quartet", "brass chorale",
          "bach/bwv269", (0, 24), 84.0,
          (_v("Trumpet", 56, 86, 0), _v("Horn", 60, 80, 1), _v("Trombone", 57, 80, 2),
           _v("Tuba", 58, 86, 3)), legato=0.98),
    Piece("corelli-op3no1-mixed", "Corelli: Trio Sonata Op. 3 No. 1, i, bars 1-12, as violin, "
          "flute and organ", "mixed families", "corelli/opus3no1/1grave", (1, 12), 66.0,
          (_v("Violin", 40, 86, 0), _v("Flute", 73, 86, 1), _v("Organ", 19, 72, 2))),
)
BY_NAME: dict[str, Piece] = {p.name: p for p in PIECES}


def piece(name: str) -> Piece:
    """The piece called ``name`` (:class:`SingError` naming the valid ones otherwise)."""
    if name not in BY_NAME:
        raise SingError(f"unknown piece '{name}' (pieces: {', '.join(BY_NAME)})")
    return BY_NAME[name]


def score_parts(spec: Piece) -> list[Part]:
    """The note lists of ``spec`` from music21's corpus (``music21`` must be installed)."""
    try:
        from music21 import corpus
    except ImportError:
        raise SingError("building the pieces needs music21: pip install music21") from None

    score = corpus.parse(spec.source)
    if len(score.parts) != len(spec.voices):
        raise SingError(f"{spec.source} has {len(score.parts)} parts, the piece names "
                        f"{len(spec.voices)} voices")
    first, last = spec.measures
    excerpts = [p.measures(first, last).stripTies() for p in score.parts]
    start = min(m.offset for e in excerpts for m in e.getElementsByClass("Measure")[:1])
    parts = []
    for voice, excerpt in zip(spec.voices, excerpts, strict=True):
        part = Part(voice.name, voice.channel, voice.program)
        for element in excerpt.flatten().notes:
            length = float(element.quarterLength)
            if length <= 0:  # grace notes
                continue
            at = float(element.getOffsetInHierarchy(excerpt)) - start
            for pitch in element.pitches:
                part.notes.append((at, length * spec.legato, int(pitch.midi), voice.velocity))
        parts.append(part)
    return parts


def build_piece(spec: Piece, path: Path | None = None) -> Path:
    """Write the MIDI file of ``spec`` (default: its checked-in path)."""
    return write_midi(path or spec.path, score_parts(spec), spec.bpm, title=spec.title)


if __name__ == "__main__":
    for spec in PIECES:
        print(build_piece(spec))
