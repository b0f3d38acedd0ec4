"""Input files read once, and never a hang on one that is not a file.

:func:`read_input` reads a whole input (a MIDI file, a list of names) in one pass, so a pipe
(``sing render <(cat song.mid)``) works like a file. A FIFO with no writer gives what it holds
at once (nothing: "an empty file") instead of blocking forever; a device (``/dev/zero``, a
terminal), a socket or a folder is refused in one line; an input larger than ``limit`` is
refused instead of filling the memory.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from sing.errors import SingError, describe_os_error

#: The largest input read whole by default (a MIDI file or a list of names is far smaller).
DEFAULT_LIMIT = 256 * 1024 * 1024


def _problem(err: OSError, path: Path) -> SingError:
    return SingError(describe_os_error(err, path).split(": ", 1)[-1], path)


def read_input(path: str | Path, what: str = "file", limit: int = DEFAULT_LIMIT) -> bytes:
    """The bytes of the input ``path``, read once; :class:`SingError` (one line naming it) if
    it is missing, a folder, a device or a socket, unreadable, or over ``limit`` bytes."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise _problem(err, path) from None
    if stat.S_ISDIR(mode):
        raise SingError(f"is a folder, not a {what}", path)
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise SingError(f"is not a regular file (a device or a socket), not a {what}", path)
    try:
        # O_NONBLOCK: opening a FIFO no one writes to returns at once instead of waiting
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise _problem(err, path) from None
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)  # then read as usual
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise SingError(f"too large for a {what} (over {limit / 2**20:.0f} MiB)", path)
    except OSError as err:
        raise _problem(err, path) from None
    finally:
        os.close(fd)
    return b"".join(chunks)
