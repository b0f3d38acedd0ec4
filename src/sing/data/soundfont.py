"""Build an NSynth-shaped data set from a General MIDI SoundFont with FluidSynth.

Every (GM program, pitch, velocity) is rendered like an NSynth note: the key is held for
``hold`` seconds and released, ``duration`` seconds in all, mono, ``sample_rate`` Hz, then
written as ``audio/<note>.wav`` (16-bit PCM) with NSynth's ``examples.json`` schema.

Rendering choices (measured on FluidR3_GM with FluidSynth 2.3):

- Reverb and chorus are off; the output is FluidSynth's float mix (no dither), left and
  right averaged to mono.
- Every note is rendered by a fresh synth that shares the SoundFont loaded once (so no state
  carries over from the previous note: a note's bytes do not depend on what else is built).
- Notes outside a preset's key range come out as exact zeros: they are skipped and counted.
- Instrument ``<family>_<source>_<program:03d>`` has NSynth id ``instrument`` = the GM
  program; a note's ``note`` id is ``program * 16384 + pitch * 128 + velocity`` (unique, and
  the same whatever else is built).
- Levels: each instrument gets one gain, chosen so that its loudest note peaks at
  :data:`NOTE_PEAK` of the int16 range (no clipping, velocities keep their relative
  loudness). The gains are recorded in ``build.json`` beside ``examples.json`` (which keeps
  NSynth's exact schema).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sing.data.builds import (
    NOTE_PEAK,
    check_replaceable,
    examples_json,
    instrument_gain,
)
from sing.data.gm import GM_PROGRAMS, instrument_str
from sing.data.schema import make_example
from sing.data.vocabulary import NSYNTH_VELOCITIES, note_name
from sing.data.wav import to_pcm16, write_wav
from sing.errors import SingError, describe_os_error
from sing.utils.atomic import atomic_directory

logger = logging.getLogger(__name__)

#: A demo subset of GM programs, three per NSynth family (all 11), every one sounding over
#: :data:`DEMO_PITCHES` in FluidR3_GM: keyboard (acoustic grand, bright acoustic, electric
#: piano 1), mallet (celesta, vibraphone, marimba), organ (drawbar, church, reed), guitar
#: (nylon, steel, jazz), bass (acoustic, finger, pick), string (violin, viola, cello), vocal
#: (choir aahs, voice oohs, synth voice), brass (trumpet, trombone, French horn), reed (alto
#: sax, tenor sax, clarinet), flute (piccolo, flute, recorder), synth lead (square, sawtooth,
#: calliope). Three instruments per family rather than one: a held-out (instrument, pitch)
#: pair is filled in far better when more instruments share each pitch (docs/results.md).
DEMO_PROGRAMS: tuple[int, ...] = (0, 1, 4, 8, 11, 12, 16, 19, 20, 24, 25, 26, 32, 33, 34, 40,
                                  41, 42, 52, 53, 54, 56, 57, 60, 65, 66, 71, 72, 73, 74, 80,
                                  81, 82)
#: Demo pitches: C3 (48) to C5 (72), two octaves inside every demo program's key range.
DEMO_PITCHES: tuple[int, ...] = tuple(range(48, 73))
#: Where the system GM SoundFont is looked for (Debian's fluid-soundfont-gm first).
SOUNDFONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
)
_FLUID_GAIN = 1.0
_FORMAT_VERSION = 1


def format_int_ranges(values: tuple[int, ...]) -> str:
    """``(0, 1, 2, 40)`` -> ``"0-2,40"`` (what :func:`parse_int_ranges` reads back)."""
    parts: list[str] = []
    start = prev = values[0]
    for v in (*values[1:], None):
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ",".join(parts)


def parse_int_ranges(text: str, low: int, high: int, what: str) -> tuple[int, ...]:
    """Parse ``"0,24,40-42"`` into ``(0, 24, 40, 41, 42)``; ``"all"`` means ``low..high``.

    Raises :class:`SingError` on malformed text or values outside ``[low, high]``.
    """
    text = text.strip()
    if text == "all":
        return tuple(range(low, high + 1))
    values: list[int] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if m is None:
            raise SingError(f"bad {what} list '{text}' (expected e.g. 0,24,40-42)")
        a = int(m[1])
        b = int(m[2]) if m[2] is not None else a
        if a > b:
            raise SingError(f"bad {what} range '{part.strip()}': {a} > {b}")
        for v in (a, b):
            if not low <= v <= high:
                raise SingError(f"{what} {v} is outside {low}-{high}")
        values.extend(range(a, b + 1))
    return tuple(sorted(set(values)))


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The SoundFont to use: ``soundfont`` if given (checked), else ``$SING_SOUNDFONT``, else
    the system GM SoundFont. Raises :class:`SingError` if none is found or it is not an SF2."""
    if soundfont is None:
        env = os.environ.get("SING_SOUNDFONT")
        candidates = [env] if env else list(SOUNDFONT_CANDIDATES)
        found = next((Path(c) for c in candidates if Path(c).is_file()), None)
        if found is None:
            raise SingError(
                "no General MIDI SoundFont found (looked in "
                f"{', '.join(candidates)}); install fluid-soundfont-gm "
                "(sudo apt-get install fluid-soundfont-gm) or pass --soundfont PATH"
            )
        soundfont = found
    path = Path(soundfont)
    check_soundfont(path)
    return path.resolve()


def check_soundfont(path: Path) -> None:
    """Raise :class:`SingError` unless ``path`` is a readable SF2 (RIFF ``sfbk``) file."""
    if path.exists() and not path.is_dir() and not path.is_file():  # a FIFO, a device
        raise SingError("is not a regular file, expected a SoundFont (.sf2) file", path)
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except FileNotFoundError:
        raise SingError("SoundFont not found", path) from None
    except IsADirectoryError:
        raise SingError("is a folder, expected a SoundFont (.sf2) file", path) from None
    except OSError as err:
        raise SingError(describe_os_error(err, path)) from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SingError("is not a SoundFont (SF2) file", path)
    declared = int.from_bytes(head[4:8], "little") + 8
    size = path.stat().st_size
    if size < declared:
        raise SingError(f"truncated SoundFont ({size} of {declared} bytes)", path)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (C libraries' own messages) inside the block."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class FluidRenderer:
    """Renders single notes from one SoundFont, each with a fresh FluidSynth synth.

    The SoundFont is loaded once by a keeper synth; every note gets a new synth that shares
    it (``fluid_synth_add_sfont``), so no state carries over from one note to the next.
    """

    def __init__(self, soundfont: Path, sample_rate: int = 16000) -> None:
        import fluidsynth as fs

        self._fs = fs
        lib = fs._fl
        lib.fluid_set_log_function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        for level in (1, 2, 3, 4):  # FLUID_ERR .. FLUID_DBG: silent (return codes checked)
            lib.fluid_set_log_function(level, None, None)
        self._write_float = lib.fluid_synth_write_float
        self._write_float.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                      ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                      ctypes.c_int, ctypes.c_int]
        self._write_float.restype = ctypes.c_int
        self._get_sfont = lib.fluid_synth_get_sfont_by_id
        self._get_sfont.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self._get_sfont.restype = ctypes.c_void_p
        self._add_sfont = lib.fluid_synth_add_sfont
        self._add_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._add_sfont.restype = ctypes.c_int
        self._remove_sfont = lib.fluid_synth_remove_sfont
        self._remove_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._remove_sfont.restype = ctypes.c_int
        self.sample_rate = sample_rate
        self.soundfont = soundfont
        self._keeper = self._new_synth()
        with _quiet_stderr():  # libinstpatch prints glib warnings on a broken file
            sfid = self._keeper.sfload(str(soundfont))
        if sfid < 0:
            self._keeper.delete()
            raise SingError("FluidSynth could not load this SoundFont", soundfont)
        self._sfont = self._get_sfont(self._keeper.synth, sfid)

    def _new_synth(self) -> Any:
        return self._fs.Synth(
            gain=_FLUID_GAIN, samplerate=float(self.sample_rate), channels=16,
            **{"synth.reverb.active": 0, "synth.chorus.active": 0},
        )

    def preset_name(self, program: int) -> str | None:
        """The SoundFont's name for GM ``program`` (bank 0), or None if it has none."""
        synth = self._new_synth()
        try:
            sfid = self._add_sfont(synth.synth, self._sfont)
            if synth.program_select(0, sfid, 0, program) != 0:
                return None
            return synth.channel_info(0)[3]
        finally:
            self._remove_sfont(synth.synth, self._sfont)
            synth.delete()

    def render(self, program: int, pitch: int, velocity: int, length: int, hold: int) -> np.ndarray:
        """Render one note: ``float32[length]`` mono, key held for ``hold`` samples."""
        synth = self._new_synth()
        left = np.zeros(length, np.float32)
        right = np.zeros(length, np.float32)
        try:
            sfid = self._add_sfont(synth.synth, self._sfont)
            if synth.program_select(0, sfid, 0, program) != 0:
                return left  # no such preset: silent, counted as skipped
            hold = min(hold, length)
            synth.noteon(0, pitch, velocity)
            self._write_float(synth.synth, hold, left.ctypes.data, 0, 1,
                              right.ctypes.data, 0, 1)
            synth.noteoff(0, pitch)
            if length > hold:
                self._write_float(synth.synth, length - hold, left.ctypes.data + 4 * hold, 0, 1,
                                  right.ctypes.data + 4 * hold, 0, 1)
        finally:
            self._remove_sfont(synth.synth, self._sfont)
            synth.delete()
        return (left + right) * np.float32(0.5)

    def close(self) -> None:
        """Free the keeper synth and the SoundFont."""
        if self._keeper is not None:
            self._keeper.delete()
            self._keeper = None

    def __enter__(self) -> FluidRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ProgramResult = tuple[dict[str, dict[str, Any]], dict[str, Any], list[str]]


@dataclass(frozen=True)
class _ProgramJob:
    """Renders every note of one GM program and writes its WAVs (picklable for workers)."""

    soundfont: Path
    pitches: tuple[int, ...]
    velocities: tuple[int, ...]
    length: int
    hold: int
    sample_rate: int

    def run(
        self, renderer: FluidRenderer, program: int, audio: Path,
        on_note: Callable[[int], Any] | None = None,
    ) -> _ProgramResult:
        """Render, choose the instrument's gain, write ``audio/<note>.wav``; returns
        ``(examples, instrument info, skipped note names)``."""
        gm = GM_PROGRAMS[program]
        name = instrument_str(program)
        notes: list[tuple[int, int, np.ndarray]] = []
        skipped: list[str] = []
        for pitch in self.pitches:
            for velocity in self.velocities:
                wav = renderer.render(program, pitch, velocity, self.length, self.hold)
                if not np.any(wav):
                    skipped.append(note_name(name, pitch, velocity))
                else:
                    notes.append((pitch, velocity, wav))
                if on_note is not None:
                    on_note(1)
        gain, peak = instrument_gain(w for _, _, w in notes)
        examples: dict[str, dict[str, Any]] = {}
        for pitch, velocity, wav in notes:
            pcm = to_pcm16(wav, gain)
            meta = make_example(
                note=program * 16384 + pitch * 128 + velocity, instrument=program,
                instrument_str=name, pitch=pitch, velocity=velocity,
                sample_rate=self.sample_rate, family=gm.family, source=gm.source,
            )
            write_wav(audio / f"{meta['note_str']}.wav", pcm, self.sample_rate)
            examples[meta["note_str"]] = meta
        info = {
            "program": program,
            "gm_name": gm.name,
            "preset_name": renderer.preset_name(program),
            "gain": gain,
            "peak_before_gain": peak,
            "notes": len(notes),
            "silent_notes": len(self.pitches) * len(self.velocities) - len(notes),
        }
        return examples, info, skipped


def _collect(result: _ProgramResult, examples: dict, instruments: dict, skipped: list) -> None:
    found, info, silent = result
    examples.update(found)
    instruments[instrument_str(info["program"])] = info
    skipped.extend(silent)


_WORKER_RENDERER: FluidRenderer | None = None


def _worker_init(soundfont: Path, sample_rate: int) -> None:
    global _WORKER_RENDERER
    _WORKER_RENDERER = FluidRenderer(soundfont, sample_rate)


def _worker_run(args: tuple[_ProgramJob, int, Path]) -> _ProgramResult:
    job, program, audio = args
    assert _WORKER_RENDERER is not None
    return job.run(_WORKER_RENDERER, program, audio)


def build_dataset(
    out: str | Path,
    soundfont: str | Path | None = None,
    programs: Iterable[int] = DEMO_PROGRAMS,
    pitches: Iterable[int] = DEMO_PITCHES,
    velocities: Sequence[int] = NSYNTH_VELOCITIES,
    duration: float = 4.0,
    hold: float = 3.0,
    sample_rate: int = 16000,
    progress: bool = True,
    overwrite: bool = False,
    jobs: int = 1,
) -> dict[str, Any]:
    """Render GM ``programs`` x ``pitches`` x ``velocities`` into an NSynth jsonwav folder.

    Writes ``out/examples.json``, ``out/audio/<note>.wav`` (int16[duration * sample_rate])
    and ``out/build.json`` (SoundFont, settings, per-instrument gains, skipped notes). The
    folder is built in a temporary sibling and renamed at the end: an interrupted build
    leaves nothing half-written. Same inputs give byte-identical files, whatever ``jobs``
    (processes rendering programs in parallel, each with its own copy of the SoundFont).

    Returns the build summary (the content of ``build.json``).
    """
    from sing.utils.progress import progress_bar

    out = Path(out)
    programs = tuple(sorted(set(int(p) for p in programs)))
    pitches = tuple(sorted(set(int(p) for p in pitches)))
    velocities = tuple(sorted(set(int(v) for v in velocities)))
    if not programs or not pitches or not velocities:
        raise SingError("nothing to build: programs, pitches and velocities must not be empty")
    for p in programs:
        if not 0 <= p <= 127:
            raise SingError(f"GM program {p} is outside 0-127")
    for p in pitches:
        if not 0 <= p <= 127:
            raise SingError(f"pitch {p} is outside the MIDI range 0-127")
    for v in velocities:
        if not 1 <= v <= 127:
            raise SingError(f"velocity {v} is outside 1-127")
    if not 0 < duration <= 60:  # also refuses NaN and infinity
        raise SingError(f"--duration {duration} must be in (0, 60] seconds")
    if not 0 < hold <= duration:
        raise SingError(f"--hold {hold} must be in (0, duration={duration}]")
    if jobs < 1:
        raise SingError(f"--jobs {jobs} must be at least 1")
    if not 1000 <= sample_rate <= 192000:
        raise SingError(f"sample rate {sample_rate} Hz is outside 1000-192000 Hz")
    length = round(duration * sample_rate)
    hold_samples = round(hold * sample_rate)
    path = find_soundfont(soundfont)
    check_replaceable(out, overwrite)
    logger.debug(f"SoundFont: {path}")

    examples: dict[str, dict[str, Any]] = {}
    instruments: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    total = len(programs) * len(pitches) * len(velocities)
    job = _ProgramJob(path, pitches, velocities, length, hold_samples, sample_rate)
    jobs = max(1, min(jobs, len(programs)))
    with atomic_directory(out) as tmp:
        audio = tmp / "audio"
        audio.mkdir()
        bar = progress_bar(total=total, unit="note", desc="rendering", disable=not progress)
        if jobs == 1:
            with FluidRenderer(path, sample_rate) as renderer:
                for program in programs:
                    result = job.run(renderer, program, audio, bar.update)
                    _collect(result, examples, instruments, skipped)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")  # no FluidSynth state crosses a fork
            with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init,
                                     initargs=(path, sample_rate)) as pool:
                try:
                    for result in pool.map(_worker_run, [(job, p, audio) for p in programs]):
                        _collect(result, examples, instruments, skipped)
                        bar.update(len(pitches) * len(velocities))
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
        bar.close()
        if not examples:
            raise SingError(
                f"every note was silent: programs {list(programs)} have no sound at "
                f"pitches {pitches[0]}-{pitches[-1]} in this SoundFont", path,
            )
        examples = dict(sorted(examples.items()))
        (tmp / "examples.json").write_text(examples_json(examples))
        summary = {
            "format_version": _FORMAT_VERSION,
            "builder": "sing.data.soundfont",
            "soundfont": str(path),
            "soundfont_size": path.stat().st_size,
            "settings": {
                "programs": list(programs), "pitches": list(pitches),
                "velocities": list(velocities), "duration": duration, "hold": hold,
                "sample_rate": sample_rate, "fluidsynth_gain": _FLUID_GAIN,
                "target_peak": NOTE_PEAK, "reverb": False, "chorus": False,
                "mono": "mean of left and right",
            },
            "notes": len(examples),
            "silent_notes_skipped": len(skipped),
            "skipped": skipped,
            "instruments": instruments,
        }
        (tmp / "build.json").write_text(json.dumps(summary, indent=2) + "\n")
    logger.debug(
        f"wrote {len(examples)} notes of {len(instruments)} instruments to {out} "
        f"({len(skipped)} silent notes outside the presets' key ranges skipped)"
    )
    return summary
