"""`sing demo`: from nothing to a listening report (:mod:`sing.recipes.demo`)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.options import add_device_option

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``sing demo`` on the `sing` parser."""
    p = sub.add_parser(
        "demo",
        help="from nothing to a listening report: build a GM data set, train, evaluate, report",
        description="Builds the default FluidR3 data set (three GM programs per NSynth family, "
        "all five velocities), splits it by (instrument, pitch), trains a CPU-sized SING "
        "through the three stages, evaluates the held-out pairs and writes the report. "
        "A second run reuses what is already built.",
    )
    p.add_argument("--out", type=Path, default=Path("demo"), help="demo folder (default ./demo)")
    p.add_argument("--quick", action="store_true", help="a ~2 minute version (used by the tests)")
    p.add_argument("--soundfont", default=None, help="GM SoundFont (default: FluidR3_GM)")
    add_device_option(p)
    p.add_argument("--force", action="store_true", help="retrain even if a model exists")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """`sing demo`: build, split, train, evaluate, report."""
    from sing.recipes.demo import run_demo
    from sing.utils.device import resolve_device

    device = str(resolve_device(args.device))

    index = run_demo(args.out, quick=args.quick, soundfont=args.soundfont, device=device,
                     force=args.force)
    print(f"demo report: {index}")
    return 0
