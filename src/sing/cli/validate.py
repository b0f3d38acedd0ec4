"""Checked command-line values: every numeric option is finite and in its range when parsed.

Each numeric option of every ``sing`` command declares its type with :func:`integer` or
:func:`real` instead of a bare ``int`` / ``float``: the value is checked while the command line
is parsed, before any work starts, so ``--duration 1e9``, ``--lr inf`` or ``--limit -1`` give
one line and exit 2 instead of a 58 TiB allocation or a traceback. ``tests/cli/test_cli_numbers.py``
walks the whole parser and feeds every such option NaN, infinities and values outside its
declared range; a bare ``int`` / ``float`` option fails that test.

:class:`OneLineParser` is the parser class of the whole command line: a usage error is one line
``sing: error: <problem>`` (exit 2), like every other error.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from sing.utils.numbers import (  # noqa: F401  (the option types, re-exported)
    BATCH_MAX,
    BATCH_SIZE,
    COUNT,
    LEARNING_RATE,
    MIDI,
    NOTES_MAX,
    POSITIVE_COUNT,
    SEED,
    SEED_MAX,
    Number,
    integer,
    real,
)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line ``sing: error: ...`` (exit 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``sing: error: <message> (see '<prog> --help')`` and exit 2."""
        if message.startswith("argument "):
            message = message[len("argument "):]
        message = " ".join(message.split())
        self.exit(2, f"sing: error: {message} (see '{self.prog} --help')\n")

