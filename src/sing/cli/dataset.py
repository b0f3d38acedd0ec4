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


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``sing dataset ...`` on the ``sing`` parser."""
    p = sub.add_parser("dataset", help="build, split, cache and check NSynth-layout data sets")
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)

    b = dsub.add_parser(
        "build",
        help="render GM SoundFont notes into an NSynth jsonwav folder",
        description="Render every (GM program, pitch, velocity) with FluidSynth into the NSynth "
        "layout (examples.json + audio/<note>.wav). Defaults: the 33-program demo set "
        "(three per NSynth family) at pitches 48-72; `--programs all --pitches 21-108` renders "
        "the whole GM bank.",
    )
    b.add_argument("--out", required=True, help="output folder (built atomically)")
    b.add_argument("--soundfont", default=None,
                   help="SF2 file (default: $SING_SOUNDFONT, else the system FluidR3_GM.sf2)")
    b.add_argument("--programs", default=None,
                   help="GM programs, e.g. 0,24,40-42 or 'all' (default: the demo set "
                   "0,11,19,24,33,40,52,56,65,73,81)")
    b.add_argument("--pitches", default="48-72", help="MIDI pitches, e.g. 21-108 (default 48-72)")
    b.add_argument("--velocities", default="25,50,75,100,127",
                   help="MIDI velocities (default NSynth's 25,50,75,100,127)")
    b.add_argument("--duration", type=SECONDS, default=4.0,
                   help="note length in s (default 4)")
    b.add_argument("--hold", type=SECONDS, default=3.0,
                   help="key held for this many s (default 3)")
    b.add_argument("--sample-rate", type=integer(1000, 192000), default=16000,
                   help="Hz (default 16000)")
    b.add_argument("--jobs", type=integer(1, 256), default=1,
                   help="processes rendering programs in parallel (default 1; same output)")
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


def cmd_build(args: argparse.Namespace) -> int:
    """``sing dataset build``."""
    _interrupt_on_sigterm()
    from sing.data.soundfont import DEMO_PROGRAMS, build_dataset, find_soundfont, parse_int_ranges

    programs = (DEMO_PROGRAMS if args.programs is None
                else parse_int_ranges(args.programs, 0, 127, "program"))
    pitches = parse_int_ranges(args.pitches, 0, 127, "pitch")
    velocities = parse_int_ranges(args.velocities, 1, 127, "velocity")
    soundfont = find_soundfont(args.soundfont)
    from sing.utils.outputs import check_output_folder

    check_output_folder(args.out, inputs=[soundfont], what="data set folder")
    print(f"SoundFont: {soundfont}", file=sys.stderr)
    summary = build_dataset(
        args.out, soundfont=soundfont, programs=programs, pitches=pitches,
        velocities=velocities, duration=args.duration, hold=args.hold,
        sample_rate=args.sample_rate, progress=not args.no_progress, overwrite=args.force,
        jobs=args.jobs,
    )
    print(
        f"{args.out}: {summary['notes']} notes of {len(summary['instruments'])} instruments "
        f"({summary['silent_notes_skipped']} silent notes outside key ranges skipped)"
    )
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
