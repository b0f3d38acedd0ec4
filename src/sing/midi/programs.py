"""Which of the model's instruments plays each General MIDI program.

Models trained on our FluidR3 sets name their instruments ``<family>_<source>_<program:03d>``
(:func:`sing.data.gm.instrument_str`): a program plays the instrument of that name. When such
a General MIDI model lacks a program, the nearest program of the same family that it has
plays it, or when it has none of that family, its nearest program (with a warning). Any other
model (NSynth's names) needs to be told: ``--instrument`` (one instrument or blend for every
program) or ``--program-map`` (``PROGRAM=INSTRUMENT`` items, a program range ``0-7=...``
allowed, the instrument possibly a blend ``a:0.7,b:0.3``); a program left unmapped there is an
error naming it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from sing.data.gm import GM_PROGRAMS, instrument_str
from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.models.blend import InstrumentSpec, Weights, resolve_instrument

logger = logging.getLogger(__name__)

_ITEM = re.compile(r"^\s*(?P<lo>\d{1,3})(?:\s*-\s*(?P<hi>\d{1,3}))?\s*=\s*(?P<spec>.+?)\s*$")


def parse_program_map(items: Iterable[str]) -> dict[int, str]:
    """``["0=keyboard_acoustic_004", "40-47=string_acoustic_021:0.5,brass_acoustic_006:0.5"]``
    -> {program: instrument spec}; raises :class:`SingError` on a malformed item."""
    out: dict[int, str] = {}
    for item in items:
        m = _ITEM.match(item)
        if m is None:
            raise SingError(
                f"bad --program-map item '{item}': write PROGRAM=INSTRUMENT or "
                "FIRST-LAST=INSTRUMENT (programs 0-127), e.g. 0=keyboard_acoustic_004"
            )
        lo = int(m["lo"])
        hi = int(m["hi"]) if m["hi"] is not None else lo
        if not 0 <= lo <= hi <= 127:
            raise SingError(f"bad --program-map item '{item}': programs are 0-127")
        for program in range(lo, hi + 1):
            out[program] = m["spec"]
    return out


def is_gm_vocabulary(vocabulary: Vocabulary) -> bool:
    """True when every instrument is named after a GM program (a model of our FluidR3 sets)."""
    names = {instrument_str(p) for p in range(128)}
    return vocabulary.num_instruments > 0 and all(n in names for n in vocabulary.instruments)


def _gm_instrument(vocabulary: Vocabulary, program: int) -> tuple[int, int]:
    """(model index, program used) for ``program`` in a GM vocabulary: itself, else the
    nearest program of the same family, else the nearest program."""
    by_program = {p: vocabulary.instruments.index(instrument_str(p)) for p in range(128)
                  if instrument_str(p) in vocabulary.instruments}
    if program in by_program:
        return by_program[program], program
    family = GM_PROGRAMS[program].family
    same = [p for p in by_program if GM_PROGRAMS[p].family == family] or list(by_program)
    nearest = min(same, key=lambda p: (abs(p - program), p))
    return by_program[nearest], nearest


def program_instruments(
    vocabulary: Vocabulary,
    programs: Iterable[int],
    program_map: Mapping[int, InstrumentSpec] | None = None,
    instrument: InstrumentSpec | None = None,
) -> dict[int, Weights]:
    """The instrument (or blend) of each program, as normalised (model index, weight) pairs.

    Args:
        programs: the GM programs to map (0-127).
        program_map: explicit choices, program -> instrument name, id or blend.
        instrument: one instrument or blend for every program (wins over everything).
    Raises:
        SingError: a program this model cannot play without being told, or a bad instrument.
    """
    program_map = dict(program_map or {})
    gm = is_gm_vocabulary(vocabulary)
    out: dict[int, Weights] = {}
    for program in sorted(set(programs)):
        name = GM_PROGRAMS[program].name
        if instrument is not None:
            out[program] = resolve_instrument(vocabulary, instrument)
        elif program in program_map:
            out[program] = resolve_instrument(vocabulary, program_map[program])
        elif gm:
            index, used = _gm_instrument(vocabulary, program)
            if used != program:
                logger.warning("program %d (%s) is not in this model: %s plays it",
                               program, name, vocabulary.instruments[index])
            out[program] = ((index, 1.0),)
        else:
            raise SingError(
                f"program {program} ({name}): this model's instruments are not named after "
                f"General MIDI programs; pass --program-map {program}=INSTRUMENT "
                "or --instrument INSTRUMENT (`sing info MODEL --instruments` lists them)"
            )
    return out
