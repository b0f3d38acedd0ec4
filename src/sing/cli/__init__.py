"""The ``sing`` command line: ``sing <command> ...`` (also ``python -m sing``).

Each sub-module registers its sub-commands with ``register(subparsers)`` and keeps its heavy
imports (torch, ...) inside the command functions, so ``sing --help`` starts fast. A command
function takes the parsed ``argparse.Namespace`` and returns an exit code.

Errors a user can cause are :class:`sing.errors.SingError`: printed as one line
``sing: error: <file>: <problem>`` on stderr, exit code 2, no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sing import __version__
from sing.errors import SingError, describe_os_error

logger = logging.getLogger("sing")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    from sing.cli import app, dataset, evaluate, listening, model, render, train
    from sing.cli.validate import OneLineParser

    parser = OneLineParser(
        prog="sing",
        description="SING: Symbol-to-Instrument Neural Generator (Défossez et al., 2018).",
    )
    parser.add_argument("--version", action="version", version=f"sing {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (dataset, model, render, train, evaluate, app, listening):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sing`` console script; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error (one line printed)
        return stop.code if isinstance(stop.code, int) else 2
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except SingError as err:
        print(f"sing: error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        print(f"sing: error: {describe_os_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sing: interrupted", file=sys.stderr)
        return 130
