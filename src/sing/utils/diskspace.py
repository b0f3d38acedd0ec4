"""Room on disk before writing big files through a memory map.

A write through ``mmap`` to a file the disk has no room for does not fail with an error: the
kernel kills the process with SIGBUS. So before a big memory-mapped file is filled, its size is
checked against the free space (:func:`require_space`) and its blocks are reserved
(:func:`reserve`, ``posix_fallocate``): a full disk is then one line, exit 2.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from sing.errors import SingError, describe_os_error

logger = logging.getLogger(__name__)

#: ``os.statvfs``; tests replace it to simulate a full disk.
statvfs = os.statvfs
#: Room kept free beyond the file itself (metadata, the small files written beside it).
MARGIN = 16 * 2**20


def human_bytes(n: float) -> str:
    """``1.5 GB``-style size (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def free_bytes(folder: str | Path) -> int:
    """Bytes an unprivileged process may still write on the file system of ``folder``."""
    st = statvfs(folder)
    return int(st.f_bavail) * int(st.f_frsize)


def require_space(folder: str | Path, nbytes: int, what: str) -> None:
    """Raise :class:`SingError` naming ``folder`` unless ``nbytes`` (+ a margin) fit there."""
    try:
        free = free_bytes(folder)
    except OSError as err:
        logger.debug(f"cannot measure the free space: {describe_os_error(err, folder)}")
        return
    if nbytes + MARGIN > free:
        raise SingError(f"not enough free space for {what}: it needs {human_bytes(nbytes)}, "
                        f"{human_bytes(free)} free", folder)


def reserve(path: str | Path, nbytes: int, shown: str | Path | None = None) -> None:
    """Allocate the first ``nbytes`` of the file ``path`` on disk (``posix_fallocate``), so that
    writing them through a memory map cannot hit a full disk. :class:`SingError` (naming
    ``shown``, e.g. the final name of a temporary file, else ``path``) when the disk or a file
    size limit has no room; file systems that cannot reserve are left as they are."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, nbytes)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            logger.debug(f"{path}: cannot reserve {nbytes} bytes ({err.strerror})")
            return
        raise SingError(describe_os_error(err, shown or path)) from None
    finally:
        os.close(fd)
