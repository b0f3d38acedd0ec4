"""Progress bars that suit both a terminal and a log file.

On a terminal, :func:`progress_bar` is an ordinary tqdm bar. When the stream is not a terminal
(``make demo > log 2>&1``, CI, ``nohup``), tqdm would still redraw ten times a second, and each
redraw lands in the log (a demo wrote 1.3 MB of them). There the bar instead prints one plain
line at most every :data:`LOG_INTERVAL` seconds, plus the final one when it closes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import IO, Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: Seconds between two lines of a bar written to a log (not a terminal). ``SING_LOG_INTERVAL``
#: overrides it.
LOG_INTERVAL = 30.0


class _LineWriter:
    """A file-like wrapper that turns tqdm's carriage-return redraws into whole lines."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").rstrip("\n")
        if line.strip():
            self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def log_interval() -> float:
    """Seconds between two log lines of a bar (``SING_LOG_INTERVAL`` or :data:`LOG_INTERVAL`)."""
    try:
        value = float(os.environ.get("SING_LOG_INTERVAL", LOG_INTERVAL))
    except ValueError:
        return LOG_INTERVAL
    return value if value >= 0 else LOG_INTERVAL


def progress_bar(iterable: Iterable[T] | None = None, *, file: IO[str] | None = None,
                 **kwargs: Any) -> tqdm:
    """A tqdm bar on ``file`` (stderr by default) that stays quiet in logs.

    Takes tqdm's arguments. When ``file`` is not a terminal, the bar writes whole lines, at
    most one every :func:`log_interval` seconds (and one when it closes), without cursor
    movement or a changing width.
    """
    stream = file if file is not None else sys.stderr
    if not is_terminal(stream):
        kwargs.update(mininterval=max(kwargs.get("mininterval", 0.0), log_interval()),
                      maxinterval=max(kwargs.get("maxinterval", 10.0), log_interval()),
                      dynamic_ncols=False, ncols=kwargs.get("ncols") or 100, position=None)
        kwargs.setdefault("leave", True)
        return tqdm(iterable, file=_LineWriter(stream), **kwargs)
    return tqdm(iterable, file=stream, **kwargs)
