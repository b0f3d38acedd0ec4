"""User-facing errors.

Anything a user can cause (bad input file, unknown instrument, unwritable folder...) raises
:class:`SingError` with one line that names the file and the problem. The command line prints
that line (no traceback) and exits with :attr:`SingError.exit_code` (2).
"""

from __future__ import annotations

import errno
from pathlib import Path


class SingError(Exception):
    """An error caused by the user's input, reported as one line without a traceback."""

    exit_code: int = 2

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        text = f"{self.path}: {message}" if self.path is not None else message
        super().__init__(text)


def describe_os_error(err: OSError, path: str | Path | None = None) -> str:
    """One line for an OSError: the file it concerns and what went wrong (e.g. a full disk)."""
    target = path if path is not None else (err.filename or "")
    if err.errno == errno.ENOSPC:
        what = "no space left on device"
    elif err.errno in (errno.EACCES, errno.EPERM):
        what = "permission denied"
    elif err.errno == errno.EROFS:
        what = "read-only file system"
    elif err.errno == errno.ENOENT:
        what = "no such file or directory"
    elif err.errno == errno.ENOTDIR:
        what = "a part of the path is a file, not a folder"
    elif err.errno == errno.EFBIG:
        what = "file too large (file system or process limit)"
    else:
        what = err.strerror or str(err)
    return f"{target}: {what}" if target else what
