"""Build an NSynth-shaped data set from a folder of recorded notes (one note per file).

Every audio file libsndfile reads (WAV, FLAC, AIFF, OGG, MP3, ...; any rate and channel count)
is one note: mixed to mono (the mean of its channels), resampled with soxr, its leading silence
trimmed, cut or zero-padded to ``duration`` with a short fade-out, and written as
``audio/<note>.wav`` with NSynth's ``examples.json`` schema, like the SoundFont builder
(:mod:`sing.data.soundfont`): one gain per instrument (its loudest note peaks at
:data:`sing.data.builds.NOTE_PEAK`), folder built atomically, under a lock, ``--force``
replaces only a data set `sing dataset build` built.

- Instruments: each sub-folder of the source is one (its files found at any depth), named after
  the sub-folder (:func:`sing.data.sample_names.instrument_slug`); files directly in the
  source belong to an instrument named after the source folder. ``instrument=NAME`` makes the
  whole folder one instrument. The NSynth family comes from ``families`` or is guessed from the
  name (:func:`sing.data.sample_names.guess_family`).
- Pitch and velocity: from the file name (:func:`sing.data.sample_names.parse_sample_name`),
  else the pitch is measured with CREPE (:mod:`sing.data.pitch_tracker`) and the velocity is
  :data:`sing.data.sample_names.DEFAULT_VELOCITY`. Every named pitch CREPE can measure is
  checked: more than :data:`PITCH_TOLERANCE_CENTS` apart, the file is skipped with both values.
- Takes: files that give the same (instrument, pitch, velocity) are takes of one note; the one
  whose name gives the velocity exactly (``ff`` rather than ``fff``), then the first by name,
  is kept; ``build.json`` says which.
- Skipped files (unreadable, silent, too short, a name that cannot be read, no pitch, a pitch
  that disagrees with the name) are listed in ``build.json`` with their reason.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sing.data.builds import (
    NOTE_PEAK,
    check_replaceable,
    examples_json,
    instrument_gain,
)
from sing.data.sample_names import (
    DEFAULT_VELOCITY,
    MIDDLE_C_CONVENTIONS,
    SampleName,
    guess_family,
    guess_source,
    instrument_slug,
    midi_to_note,
    parse_sample_name,
)
from sing.data.schema import make_example
from sing.data.vocabulary import NSYNTH_FAMILIES, note_name
from sing.data.wav import to_pcm16, write_wav
from sing.errors import SingError, describe_os_error
from sing.utils.atomic import atomic_directory

logger = logging.getLogger(__name__)

#: A named pitch and the measured one may differ by this much (cents).
PITCH_TOLERANCE_CENTS: float = 50.0
#: A file whose peak is below this (full scale 1; -80 dBFS) is silent.
SILENCE_PEAK: float = 1e-4
#: Leading silence: everything before the first sample within this many dB of the peak ...
TRIM_DB: float = 40.0
#: ... less this much (s) kept before it, so the attack is whole.
PRE_ROLL: float = 0.005
#: A note needs at least this much sound (s) after its leading silence.
MIN_SOUND: float = 0.25
#: Fade-out (s) at the end of the kept sound.
FADE: float = 0.02
#: CREPE analyses this window (s from the trimmed start): past the attack, in the steady part.
PITCH_WINDOW: tuple[float, float] = (0.05, 0.65)
_FORMAT_VERSION = 1

#: The kinds of skipped files, in the order the summary lists them.
SKIP_KINDS: tuple[str, ...] = ("unreadable", "silent", "too short", "bad name", "no pitch",
                               "pitch mismatch")


@dataclass(frozen=True)
class Instrument:
    """One instrument of a sample folder: its ``name`` (a slug), ``family``, ``source``
    (NSynth's), whether the family was ``guessed``, the ``folder`` and its audio ``files``."""

    name: str
    family: str
    source: str
    guessed: bool
    folder: Path
    files: tuple[Path, ...]


@dataclass
class _Note:
    instrument: Instrument
    file: Path
    rel: str
    name: SampleName
    wav: np.ndarray
    clip: np.ndarray
    pitch: int | None = None
    velocity: int = DEFAULT_VELOCITY
    measured: float | None = None
    periodicity: float | None = None
    pitch_from: str = "name"
    check: str = "agrees"


@dataclass
class _Report:
    skipped: list[dict[str, str]] = field(default_factory=list)

    def skip(self, rel: str, kind: str, reason: str) -> None:
        assert kind in SKIP_KINDS
        self.skipped.append({"file": rel, "problem": kind, "reason": reason})
        logger.debug(f"skipped {rel}: {reason}")


def _natural_key(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(path))]


def _visible_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` (at any depth), hidden ones (``.name``) left out."""
    found = [p for p in folder.rglob("*")
             if p.is_file() and not any(part.startswith(".")
                                        for part in p.relative_to(folder).parts)]
    return sorted(found, key=_natural_key)


def find_instruments(
    source: Path, instrument: str | None = None, families: Mapping[str, str] | None = None,
) -> list[Instrument]:
    """The instruments of a sample folder (see the module's docstring).

    ``families`` maps an instrument name to its NSynth family; the key ``"*"`` (or a single
    value given for every instrument) applies to the others. Raises :class:`SingError` for a
    missing source, an instrument name with no letters or digits, two folders giving the same
    name, or a family that is unknown or cannot be guessed.
    """
    if not source.exists():
        raise SingError("sample folder not found", source)
    if not source.is_dir():
        raise SingError("is not a folder (--from-samples takes a folder of audio files)", source)
    families = dict(families or {})
    groups: list[tuple[str, Path, list[Path]]] = []
    if instrument is not None:
        groups.append((instrument, source, _visible_files(source)))
    else:
        loose = sorted((p for p in source.iterdir()
                        if p.is_file() and not p.name.startswith(".")), key=_natural_key)
        if loose:
            groups.append((source.resolve().name, source, loose))
        for sub in sorted((p for p in source.iterdir()
                           if p.is_dir() and not p.name.startswith(".")), key=_natural_key):
            files = _visible_files(sub)
            if files:
                groups.append((sub.name, sub, files))
    if not groups:
        raise SingError("has no files", source)
    result: list[Instrument] = []
    seen: dict[str, Path] = {}
    for raw, folder, files in groups:
        name = instrument_slug(raw)
        if not name:
            raise SingError(f"instrument name '{raw}' has no letters or digits; rename the "
                            "folder or pass --instrument NAME", folder)
        if name in seen:
            raise SingError(f"gives instrument '{name}' like {seen[name]}: rename one", folder)
        seen[name] = folder
        family = families.get(name, families.get(raw, families.get("*")))
        guessed = family is None
        if family is None:
            family = guess_family(name)
        if family is None:
            raise SingError(
                f"cannot guess the NSynth family of instrument '{name}' from its name: pass "
                f"--family {name}=FAMILY (one of {', '.join(NSYNTH_FAMILIES)})", folder)
        if family not in NSYNTH_FAMILIES:
            raise SingError(f"unknown family '{family}' for instrument '{name}' (one of "
                            f"{', '.join(NSYNTH_FAMILIES)})")
        result.append(Instrument(name, family, guess_source(name, family), guessed, folder,
                                 tuple(files)))
    unknown = set(families) - set(seen) - {"*"} - {raw for raw, _, _ in groups}
    if unknown:
        raise SingError(f"--family names instrument(s) not in the folder: "
                        f"{', '.join(sorted(unknown))} (instruments: {', '.join(seen)})", source)
    return sorted(result, key=lambda i: i.name)


def read_mono(path: Path, sample_rate: int) -> np.ndarray:
    """A file's audio as float32 mono (mean of its channels) at ``sample_rate`` (soxr HQ).

    Raises :class:`SingError` if libsndfile cannot read it or it holds no finite samples.
    """
    import soundfile
    import soxr

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as err:
        detail = str(err).split(":")[-1].strip() or type(err).__name__
        raise SingError(f"not an audio file libsndfile can read ({detail})", path) from None
    except OSError as err:
        raise SingError(describe_os_error(err, path)) from None
    if data.shape[0] == 0:
        raise SingError("holds no audio samples", path)
    if not np.isfinite(data).all():
        raise SingError("holds samples that are not finite numbers (NaN, infinity)", path)
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ").astype(np.float32)
    return mono


def shape_note(mono: np.ndarray, sample_rate: int, length: int) -> tuple[np.ndarray, int]:
    """``(note, start)``: ``mono`` from just before its first sample within :data:`TRIM_DB`
    of its peak (``start``), cut or zero-padded to ``length`` samples, the last :data:`FADE`
    seconds of its sound faded out (linearly)."""
    peak = float(np.abs(mono).max())
    above = np.flatnonzero(np.abs(mono) >= peak * 10 ** (-TRIM_DB / 20))
    start = max(0, int(above[0]) - round(PRE_ROLL * sample_rate))
    sound = mono[start:start + length].astype(np.float32)
    fade = min(round(FADE * sample_rate), sound.size)
    if fade:
        sound = sound.copy()
        sound[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    note = np.zeros(length, np.float32)
    note[:sound.size] = sound
    return note, start


def _rel(path: Path, source: Path) -> str:
    try:
        return str(path.relative_to(source))
    except ValueError:
        return str(path)


def _read_notes(instruments: list[Instrument], source: Path, sample_rate: int, length: int,
                middle_c: str, report: _Report, progress: bool) -> list[_Note]:
    from sing.utils.progress import progress_bar

    total = sum(len(i.files) for i in instruments)
    notes: list[_Note] = []
    bar = progress_bar(total=total, unit="file", desc="reading", disable=not progress)
    lo, hi = (round(t * sample_rate) for t in PITCH_WINDOW)
    for inst in instruments:
        for path in inst.files:
            bar.update(1)
            rel = _rel(path, source)
            try:
                mono = read_mono(path, sample_rate)
            except SingError as err:
                text = str(err)
                report.skip(rel, "unreadable", text.removeprefix(f"{path}: "))
                continue
            peak = float(np.abs(mono).max())
            if peak < SILENCE_PEAK:
                report.skip(rel, "silent", f"silent (peak {20 * np.log10(max(peak, 1e-12)):.0f}"
                            f" dBFS, below {20 * np.log10(SILENCE_PEAK):.0f} dBFS)")
                continue
            note, start = shape_note(mono, sample_rate, length)
            sound = (mono.size - start) / sample_rate
            if sound < MIN_SOUND:
                report.skip(rel, "too short", f"too short ({sound:.2f} s of sound after the "
                            f"leading silence; at least {MIN_SOUND:g} s)")
                continue
            name = parse_sample_name(path.stem, middle_c)
            if name.problem is not None:
                report.skip(rel, "bad name", f"file name: {name.problem}")
                continue
            clip = mono[start:][lo:hi] if mono.size - start > hi else mono[start:][:hi]
            notes.append(_Note(inst, path, rel, name, note, clip.copy(), name.pitch,
                               name.velocity if name.velocity is not None else DEFAULT_VELOCITY))
    bar.close()
    return notes


def _check_pitches(notes: list[_Note], sample_rate: int, model: str, device: str,
                   middle_c: str, report: _Report, progress: bool) -> list[_Note]:
    """Measure every note's pitch CREPE can measure; name the unnamed, drop the mismatched."""
    from sing.data.pitch_tracker import MIDI_RANGE, estimate_pitches

    todo = [n for n in notes if n.pitch is None or n.pitch in MIDI_RANGE]
    if todo:
        estimates = estimate_pitches([n.clip for n in todo], sample_rate, model=model,
                                     device=device, progress=progress)
        for n, est in zip(todo, estimates, strict=True):
            n.measured, n.periodicity = est.midi, est.periodicity
    kept: list[_Note] = []
    for n in notes:
        if n.pitch is None:
            if n.measured is None or not 0 <= round(n.measured) <= 127:
                report.skip(n.rel, "no pitch", "no pitch in the file name, and CREPE measured "
                            f"none (periodicity {n.periodicity or 0:.2f}); name the file "
                            "after its note, e.g. C4.wav")
                continue
            n.pitch, n.pitch_from, n.check = round(n.measured), "measured", "measured"
            logger.info(f"{n.rel}: no pitch in the name; measured {midi_to_note(n.pitch, middle_c)}"
                        f" ({n.pitch}, {100 * (n.measured - n.pitch):+.0f} cents)")
        elif n.measured is None:
            n.check = ("outside CREPE's range" if n.pitch not in MIDI_RANGE
                       else "no steady pitch measured")
        else:
            cents = 100 * (n.measured - n.pitch)
            if abs(cents) > PITCH_TOLERANCE_CENTS:
                heard = midi_to_note(round(n.measured), middle_c)
                report.skip(n.rel, "pitch mismatch",
                            f"the name says {n.name.pitch_text} (pitch {n.pitch}) but CREPE "
                            f"measured {n.measured:.2f} ({heard}, {cents:+.0f} cents)")
                continue
        kept.append(n)
    return kept


def _choose_takes(notes: list[_Note]) -> tuple[list[_Note], list[dict[str, Any]]]:
    groups: dict[tuple[str, int, int], list[_Note]] = {}
    for n in notes:
        assert n.pitch is not None
        groups.setdefault((n.instrument.name, n.pitch, n.velocity), []).append(n)
    kept: list[_Note] = []
    takes: list[dict[str, Any]] = []
    for (inst, pitch, velocity), group in sorted(groups.items()):
        group.sort(key=lambda n: (not n.name.exact_velocity, _natural_key(Path(n.rel))))
        kept.append(group[0])
        if len(group) > 1:
            takes.append({"note": note_name(inst, pitch, velocity), "kept": group[0].rel,
                          "dropped": [n.rel for n in group[1:]]})
    return kept, takes


def skip_summary(summary: Mapping[str, Any]) -> str:
    """One line on the skipped files of a sample build: ``4 of 20 files skipped (1
    unreadable, 1 silent, 2 too short); 2 takes dropped; see OUT/build.json``."""
    kinds = Counter(s["problem"] for s in summary["skipped"])
    parts = [f"{kinds[k]} {k}" for k in SKIP_KINDS if kinds[k]]
    line = f"{len(summary['skipped'])} of {summary['files']} files skipped"
    if parts:
        line += f" ({', '.join(parts)})"
    dropped = sum(len(t["dropped"]) for t in summary["takes"])
    if dropped:
        line += f"; {dropped} extra take(s) of {len(summary['takes'])} note(s) left out"
    measured = sum(1 for s in summary["sources"].values() if s["pitch_from"] == "measured")
    if measured:
        line += f"; {measured} pitch(es) measured by CREPE"
    return line


def build_from_samples(
    source: str | Path,
    out: str | Path,
    instrument: str | None = None,
    families: Mapping[str, str] | None = None,
    middle_c: str = "C4",
    duration: float = 4.0,
    sample_rate: int = 16000,
    pitch_model: str = "tiny",
    device: str = "cpu",
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Build an NSynth jsonwav folder at ``out`` from the recorded notes under ``source``.

    Writes ``out/examples.json``, ``out/audio/<note>.wav`` (int16[duration * sample_rate])
    and ``out/build.json`` (settings, instruments and their gains, where each note came from,
    takes left out, skipped files and why). Built in a temporary sibling, renamed at the end.
    Raises :class:`SingError` on a bad source, settings or ``out``, or when no file gives a
    note. Returns the build summary (the content of ``build.json``).
    """
    source = Path(source)
    out = Path(out)
    if middle_c not in MIDDLE_C_CONVENTIONS:
        raise SingError(f"middle C must be one of {', '.join(MIDDLE_C_CONVENTIONS)}, "
                        f"not '{middle_c}'")
    if not 0 < duration <= 60:
        raise SingError(f"--duration {duration} must be in (0, 60] seconds")
    if not 1000 <= sample_rate <= 192000:
        raise SingError(f"sample rate {sample_rate} Hz is outside 1000-192000 Hz")
    from sing.data.pitch_tracker import MODELS

    if pitch_model not in MODELS:
        raise SingError(f"pitch model must be one of {', '.join(MODELS)}, not '{pitch_model}'")
    instruments = find_instruments(source, instrument, families)
    check_replaceable(out, overwrite)
    if out.resolve().is_relative_to(source.resolve()):
        raise SingError("is inside the sample folder: choose an --out elsewhere", out)
    length = round(duration * sample_rate)
    report = _Report()
    files = sum(len(i.files) for i in instruments)
    notes = _read_notes(instruments, source, sample_rate, length, middle_c, report, progress)
    notes = _check_pitches(notes, sample_rate, pitch_model, device, middle_c, report, progress)
    notes, takes = _choose_takes(notes)
    if not notes:
        shown = "; ".join(f"{s['file']}: {s['reason']}" for s in report.skipped[:3])
        raise SingError(f"no file gave a note ({files} skipped: {shown}"
                        f"{'; ...' if len(report.skipped) > 3 else ''})", source)
    playing = sorted({n.instrument.name for n in notes})
    ids = {name: i for i, name in enumerate(playing)}  # NSynth ids of the instruments kept
    examples: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    info: dict[str, dict[str, Any]] = {}
    with atomic_directory(out) as tmp:
        audio = tmp / "audio"
        audio.mkdir()
        for inst in instruments:
            mine = [n for n in notes if n.instrument is inst]
            if not mine:
                continue
            gain, peak = instrument_gain(n.wav for n in mine)
            for n in mine:
                assert n.pitch is not None
                meta = make_example(
                    note=ids[inst.name] * 16384 + n.pitch * 128 + n.velocity,
                    instrument=ids[inst.name], instrument_str=inst.name, pitch=n.pitch,
                    velocity=n.velocity, sample_rate=sample_rate, family=inst.family,
                    source=inst.source,
                )
                write_wav(audio / f"{meta['note_str']}.wav", to_pcm16(n.wav, gain), sample_rate)
                examples[meta["note_str"]] = meta
                sources[meta["note_str"]] = {
                    "file": n.rel, "pitch_from": n.pitch_from, "pitch_text": n.name.pitch_text,
                    "measured_pitch": None if n.measured is None else round(n.measured, 3),
                    "pitch_check": n.check,
                    "velocity_from": n.name.velocity_text or "default",
                }
            info[inst.name] = {
                "folder": _rel(inst.folder, source) if inst.folder != source else ".",
                "family": inst.family, "family_guessed": inst.guessed, "source": inst.source,
                "gain": gain, "peak_before_gain": peak, "notes": len(mine),
                "files": len(inst.files),
                "pitches": sorted({n.pitch for n in mine if n.pitch is not None}),
                "velocities": sorted({n.velocity for n in mine}),
            }
        examples = dict(sorted(examples.items()))
        (tmp / "examples.json").write_text(examples_json(examples))
        summary: dict[str, Any] = {
            "format_version": _FORMAT_VERSION,
            "builder": "sing.data.samples",
            "samples": str(source.resolve()),
            "settings": {
                "duration": duration, "sample_rate": sample_rate, "middle_c": middle_c,
                "target_peak": NOTE_PEAK, "mono": "mean of channels",
                "resampler": "soxr HQ", "trim_db": TRIM_DB, "pre_roll": PRE_ROLL,
                "min_sound": MIN_SOUND, "fade": FADE, "silence_peak": SILENCE_PEAK,
                "pitch_model": f"CREPE {pitch_model} (torchcrepe)",
                "pitch_window": list(PITCH_WINDOW),
                "pitch_tolerance_cents": PITCH_TOLERANCE_CENTS,
                "default_velocity": DEFAULT_VELOCITY,
            },
            "notes": len(examples),
            "files": files,
            "instruments": info,
            "sources": dict(sorted(sources.items())),
            "takes": takes,
            "skipped": report.skipped,
        }
        (tmp / "build.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
