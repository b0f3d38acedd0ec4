"""Helpers of the MIDI tests: MIDI files written with mido, tiny SING models saved by the code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mido
import torch

from sing.data.gm import GM_PROGRAMS, instrument_str
from sing.data.vocabulary import Vocabulary

#: The GM programs of the tiny GM model: piano, violin, flute.
GM_TEST_PROGRAMS = (0, 40, 73)


def gm_vocabulary(hold: float | None = 0.5) -> Vocabulary:
    """Three GM instruments named like our FluidR3 sets, 1-second notes, pitches 36-84."""
    return Vocabulary(
        instruments=tuple(instrument_str(p) for p in GM_TEST_PROGRAMS),
        instrument_ids=GM_TEST_PROGRAMS,
        families=tuple(GM_PROGRAMS[p].family for p in GM_TEST_PROGRAMS),
        pitch_min=36,
        pitch_max=84,
        note_length=16000,
        extra={} if hold is None else {"hold": hold},
    )


def save_tiny(path: Path, vocabulary: Vocabulary) -> Path:
    """An untrained ``tiny`` SING for ``vocabulary`` (render mechanics need no training)."""
    from sing.models import SING, SingConfig
    from sing.models.io import save_model

    torch.manual_seed(0)
    model = SING(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary)
    return save_model(path, model, recipe={"stage": "untrained"})


#: A note for :func:`write_midi`: (start beat, length in beats, pitch, velocity).
Note = tuple[float, float, int, int]


def write_midi(path: Path, tracks: Sequence[tuple[int, int, Sequence[Note]]],
               bpm: float = 120.0, ticks_per_beat: int = 480) -> Path:
    """A type-1 Standard MIDI File: a tempo track, then one track per (channel, program, notes)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    midi.tracks.append(meta)
    for channel, program, notes in tracks:
        track = mido.MidiTrack()
        track.append(mido.Message("program_change", channel=channel, program=program, time=0))
        events = []
        for start, length, pitch, velocity in notes:
            on = round(start * ticks_per_beat)
            events.append((on + round(length * ticks_per_beat), 0, pitch, 0))
            events.append((on, 1, pitch, velocity))
        now = 0
        for tick, _kind, pitch, velocity in sorted(events):
            kind = "note_on" if velocity else "note_off"
            track.append(mido.Message(kind, channel=channel, note=pitch, velocity=velocity,
                                      time=tick - now))
            now = tick
        midi.tracks.append(track)
    midi.save(str(path))
    return path
