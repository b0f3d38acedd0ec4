"""The ``sing`` command line: ``sing <command> ...`` (also ``python -m sing``).

Each sub-module registers its sub-commands with ``register(subparsers)`` and keeps its heavy
imports (torch, ...) inside the command functions, so ``sing --help`` starts fast. When the
command line names a command, only the module of that command is imported and registered
(:data:`COMMANDS`): ``sing render`` then never imports what training needs. A command
function takes the parsed ``argparse.Namespace`` and returns an exit code.

The console script and ``python -m sing`` enter through :func:`console`, which first restarts
the process with glibc keeping freed memory for reuse (:mod:`sing.utils.allocator`) when the
command runs networks (:data:`TUNED_COMMANDS`, without ``--help``); :func:`main` itself
leaves the process's allocator alone.

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


#: Each top-level command -> the module of ``sing.cli`` that registers it, in the order
#: ``sing --help`` lists them (``tests/cli/test_lazy_commands.py`` holds this table equal to
#: what the modules register).
COMMANDS: dict[str, str] = {
    "dataset": "dataset", "info": "model", "generate": "model", "render": "render",
    "export": "export", "train": "train", "plot": "train", "evaluate": "evaluate",
    "report": "evaluate", "experiment": "experiment", "demo": "demo", "app": "app",
    "listening-report": "listening",
}


#: The commands that run networks (large, short-lived tensors): :func:`console` restarts their
#: processes with the C allocator keeping freed memory. The others (``info``, ``dataset``,
#: ``plot``, ``listening-report``, ``--help``, ``--version``) start once, as they are.
TUNED_COMMANDS: frozenset[str] = frozenset({
    "generate", "render", "export", "train", "evaluate", "report", "experiment", "demo", "app"})


def restarts_tuned(argv: Sequence[str]) -> bool:
    """Whether :func:`console` restarts a process given these arguments with the tuned
    allocator: a command of :data:`TUNED_COMMANDS` that is not asked for its help."""
    if any(w in ("-h", "--help", "--version") for w in argv):
        return False
    return _named_command(argv) in TUNED_COMMANDS


def _named_command(argv: Sequence[str]) -> str | None:
    """The command an argument list names: its first word that is not an option (the
    top-level options take no value)."""
    return next((w for w in argv if not w.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser: with ``argv`` naming a known command, that command's module only;
    otherwise (no ``argv``, ``sing --help``, an unknown command) every sub-command."""
    import importlib

    from sing.cli.validate import OneLineParser

    parser = OneLineParser(
        prog="sing",
        description="SING: Symbol-to-Instrument Neural Generator (Défossez et al., 2018).",
    )
    parser.add_argument("--version", action="version", version=f"sing {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = _named_command(argv) if argv is not None else None
    modules = [COMMANDS[named]] if named in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(f"sing.cli.{name}").register(sub)
    return parser


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone; if so, stdout is pointed at
    /dev/null (as Python's documentation advises), so the exit flush prints nothing."""
    import os
    import select

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        closed = any(event & select.POLLERR for _, event in poller.poll(0))
        if not closed:
            sys.stdout.flush()
    except BrokenPipeError:
        closed = True
    except (OSError, ValueError, AttributeError):
        return False
    if closed:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return closed


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sing`` console script; returns the process exit code."""
    parser = build_parser(sys.argv[1:] if argv is None else argv)
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
        code = int(func(args) or 0)
        sys.stdout.flush()  # a closed pipe is seen here, not at exit
        return code
    except BrokenPipeError as err:
        if _stdout_closed():  # `sing info | head -1`: the reader has what it wanted
            return 128 + 13  # as a process killed by SIGPIPE, quietly
        print(f"sing: error: {describe_os_error(err)}", file=sys.stderr)
        return 2
    except SingError as err:
        print(f"sing: error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        print(f"sing: error: {describe_os_error(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sing: interrupted", file=sys.stderr)
        return 130


def console() -> int:
    """Entry point of the ``sing`` console script and ``python -m sing``: for a command that
    runs networks (:func:`restarts_tuned`) the process restarts once with its C allocator
    keeping freed memory (:func:`sing.utils.allocator.keep_freed_memory`; its large tensors
    then cost no page faults), then :func:`main` on ``sys.argv``."""
    if restarts_tuned(sys.argv[1:]):
        from sing.utils.allocator import keep_freed_memory

        keep_freed_memory()
    return main()
