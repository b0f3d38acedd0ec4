"""``sing dataset build | split | cache | check``: make and inspect NSynth-layout data sets."""

from __future__ import annotations

import argparse
import logging
import sys

from sing.cli.validate import SEED, integer, real

logger = logging.getLogger(__name__)

#: A note lasts at most a minute; a split holds out a fraction in [0, 1).
SECONDS = real(0, 60, low_open=True)
FRACTION = real(0, 1, high_open=True)
#: Octave conventions of note names (where MIDI 60 is).
MIDDLE_C = ("C4", "C3", "C5")
_SOUNDFONT_ONLY = ("soundfont", "programs", "pitches", "velocities", "hold", "jobs")
_SAMPLES_ONLY = ("instrument", "family")


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``sing dataset ...`` on the ``sing`` parser."""
    p = sub.add_parser("dataset", help="build, split, cache and check NSynth-layout data sets")
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)

    b = dsub.add_parser(
        "build",
        help="render GM SoundFont notes, or a folder of recorded notes, into an NSynth folder",
        description="Render every (GM program, pitch, velocity) with FluidSynth into the NSynth "
        "layout (examples.json + audio/<note>.wav). Defaults: the 33-program demo set "
        "(three per NSynth family) at pitches 48-72; `--programs all --pitches 21-108` renders "
        "the whole GM bank. With --from-samples DIR: one note per audio file of DIR instead "
        "(each sub-folder an instrument; pitch and dynamics read from the file names, e.g. "
        "C#4_ff.wav, Piano.ff.C4.aiff, 060_100.flac, else the pitch measured with CREPE); "
        "files that give no note are listed in build.json.",
    )
    b.add_argument("--out", required=True, help="output folder (built atomically)")
    sf = b.add_argument_group("SoundFont build")
    sf.add_argument("--soundfont", default=None,
                    help="SF2 file (default: $SING_SOUNDFONT, else the system FluidR3_GM.sf2)")
    sf.add_argument("--programs", default=None,
                    help="GM programs, e.g. 0,24,40-42 or 'all' (default: the demo set "
                    "0,11,19,24,33,40,52,56,65,73,81)")
    sf.add_argument("--pitches", default=None,
                    help="MIDI pitches, e.g. 21-108 (default 48-72)")
    sf.add_argument("--velocities", default=None,
                    help="MIDI velocities (default NSynth's 25,50,75,100,127)")
    sf.add_argument("--hold", type=SECONDS, default=None,
                    help="key held for this many s (default 3)")
    sf.add_argument("--jobs", type=integer(1, 256), default=None,
                    help="processes rendering programs in parallel (default 1; same output)")
    sm = b.add_argument_group("build from recorded samples")
    sm.add_argument("--from-samples", metavar="DIR", default=None,
                    help="a folder of recorded notes, one per audio file (WAV, FLAC, AIFF, "
                    "OGG, MP3...); each sub-folder is an instrument")
    sm.add_argument("--instrument", metavar="NAME", default=None,
                    help="the whole folder is this one instrument (default: each sub-folder's "
                    "name; files directly in DIR: DIR's name)")
    sm.add_argument("--family", metavar="[INSTRUMENT=]FAMILY", action="append", default=[],
                    help="NSynth family of every instrument, or of one; repeatable (default: "
                    "guessed from the name, e.g. my_cello -> string)")
    sm.add_argument("--middle-c", choices=MIDDLE_C, default="C4",
                    help="the note name of MIDI 60 in the file names (default C4; many "
                    "samplers and DAWs call it C3)")
    sm.add_argument("--pitch-model", choices=("tiny", "full"), default="tiny",
                    help="CREPE model checking and measuring pitches (default tiny; full is "
                    "~25x slower)")
    b.add_argument("--duration", type=SECONDS, default=4.0,
                   help="note length in s (default 4)")
    b.add_argument("--sample-rate", type=integer(1000, 192000), default=16000,
                   help="Hz (default 16000)")
    b.add_argument("--force", action="store_true", help="replace an existing --out folder")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)

    s = dsub.add_parser("split", help="assign (instrument, pitch) pairs to train/valid/test",
                        description="Write DIR/split.json: about --valid and --test of every "
                        "instrument's pitches (all velocities) held out, the rest for training.")
    s.add_argument("dir", help="jsonwav folder")
    s.add_argument("--valid", type=FRACTION, default=0.1,
                   help="fraction of pitches (default 0.1)")
    s.add_argument("--test", type=FRACTION, default=0.1,
                   help="fraction of pitches (default 0.1)")
    s.add_argument("--seed", type=SEED, default=42, help="random seed (default 42)")
    s.add_argument("--force", action="store_true", help="overwrite a different existing split")
    s.set_defaults(func=cmd_split)

    c = dsub.add_parser("cache", help="build the memory-mapped int16 cache for fast loading",
                        description="Write DIR/sing-cache/ (audio.npy + index.json); the "
                        "Dataset uses it while it matches the folder.")
    c.add_argument("dir", help="jsonwav folder")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_cache)

    k = dsub.add_parser("check", help="list every problem of a jsonwav folder",
                        description="Check examples.json, every WAV, the split and the cache; "
                        "exit 2 listing every problem, or 0 with a summary.")
    k.add_argument("dir", help="jsonwav folder")
    k.add_argument("--no-progress", action="store_true", help="no progress bar")
    k.set_defaults(func=cmd_check)


def _interrupt_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so a killed build or cache cleans up after itself."""
    from sing.utils.interrupt import interrupt_on_sigterm

    interrupt_on_sigterm()


def _option(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def parse_families(values: list[str]) -> dict[str, str]:
    """``--family`` values (``FAMILY`` or ``INSTRUMENT=FAMILY``) as a dict, ``"*"`` for the
    one given for every instrument; raises :class:`SingError` on an unknown family."""
    from sing.data.vocabulary import NSYNTH_FAMILIES
    from sing.errors import SingError

    families: dict[str, str] = {}
    for value in values:
        name, _, family = value.rpartition("=")
        family = family.strip()
        if family not in NSYNTH_FAMILIES:
            raise SingError(f"--family {value}: unknown family '{family}' (one of "
                            f"{', '.join(NSYNTH_FAMILIES)})")
        families[name.strip() or "*"] = family
    return families


def cmd_build(args: argparse.Namespace) -> int:
    """``sing dataset build``."""
    from sing.errors import SingError

    _interrupt_on_sigterm()
    if args.from_samples is not None:
        given = [_option(d) for d in _SOUNDFONT_ONLY if getattr(args, d) is not None]
        if given:
            raise SingError(f"{', '.join(given)}: SoundFont options, not for --from-samples")
        return _build_from_samples(args)
    given = [_option(d) for d in _SAMPLES_ONLY if getattr(args, d)]
    given += ["--middle-c"] if args.middle_c != "C4" else []
    given += ["--pitch-model"] if args.pitch_model != "tiny" else []
    if given:
        raise SingError(f"{', '.join(given)}: only with --from-samples DIR")
    from sing.data.soundfont import DEMO_PROGRAMS, build_dataset, find_soundfont, parse_int_ranges

    programs = (DEMO_PROGRAMS if args.programs is None
                else parse_int_ranges(args.programs, 0, 127, "program"))
    pitches = parse_int_ranges(args.pitches or "48-72", 0, 127, "pitch")
    velocities = parse_int_ranges(args.velocities or "25,50,75,100,127", 1, 127, "velocity")
    soundfont = find_soundfont(args.soundfont)
    from sing.utils.outputs import check_output_folder

    check_output_folder(args.out, inputs=[soundfont], what="data set folder")
    print(f"SoundFont: {soundfont}", file=sys.stderr)
    summary = build_dataset(
        args.out, soundfont=soundfont, programs=programs, pitches=pitches,
        velocities=velocities, duration=args.duration,
        hold=3.0 if args.hold is None else args.hold, sample_rate=args.sample_rate,
        progress=not args.no_progress, overwrite=args.force, jobs=args.jobs or 1,
    )
    print(
        f"{args.out}: {summary['notes']} notes of {len(summary['instruments'])} instruments "
        f"({summary['silent_notes_skipped']} silent notes outside key ranges skipped)"
    )
    return 0


def _build_from_samples(args: argparse.Namespace) -> int:
    """``sing dataset build --from-samples DIR``."""
    from pathlib import Path

    from sing.data.samples import build_from_samples, skip_summary

    summary = build_from_samples(
        args.from_samples, args.out, instrument=args.instrument,
        families=parse_families(args.family), middle_c=args.middle_c,
        duration=args.duration, sample_rate=args.sample_rate, pitch_model=args.pitch_model,
        progress=not args.no_progress, overwrite=args.force,
    )
    print(f"{skip_summary(summary)}; see {Path(args.out) / 'build.json'}", file=sys.stderr)
    shown = ", ".join(f"{name} ({i['family']}, {i['notes']} notes)"
                      for name, i in summary["instruments"].items())
    print(f"{args.out}: {summary['notes']} notes of {len(summary['instruments'])} "
          f"instrument(s): {shown}")
    return 0


def cmd_split(args: argparse.Namespace) -> int:
    """``sing dataset split``."""
    from pathlib import Path

    from sing.data.split import SPLIT_FILE, make_split

    splits = make_split(args.dir, valid=args.valid, test=args.test, seed=args.seed,
                        force=args.force)
    counts = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    print(f"{Path(args.dir) / SPLIT_FILE}: {counts} notes")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    """``sing dataset cache``."""
    _interrupt_on_sigterm()
    from sing.data.cache import build_cache

    out = build_cache(args.dir, progress=not args.no_progress)
    print(f"{out}: cache written")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """``sing dataset check``."""
    from sing.data.check import check_dataset

    report = check_dataset(args.dir, progress=not args.no_progress)
    if report.ok:
        print(report.summary())
        return 0
    for line in report.problems:
        print(line)
    print(f"{args.dir}: {len(report.problems)} problem(s)", file=sys.stderr)
    return 2
