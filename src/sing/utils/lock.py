"""Exclusive locks on outputs: two sing processes never write the same folder or file at once.

The lock of a target ``DIR/name`` is ``fcntl.flock`` on ``DIR/.name.lock`` (created for the
time it is held, removed when released). The kernel drops it when the process dies, even by
SIGKILL, so a stale lock file never blocks a later run. A second process asking for a held
lock fails at once with one line naming the target and the holder's pid. A process may take
a lock it already holds (nested use is counted).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from sing.errors import SingError, describe_os_error

logger = logging.getLogger(__name__)

_held: dict[Path, int] = {}


def lock_path(target: str | Path) -> Path:
    """The lock file of ``target``: ``.<name>.lock`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def is_locked(target: str | Path) -> bool:
    """Whether another process holds the lock of ``target`` now (False when this process
    holds it)."""
    path = lock_path(target)
    if Path(os.path.abspath(target)) in _held:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also releases a lock taken just above
    return False


@contextlib.contextmanager
def exclusive(target: str | Path) -> Iterator[None]:
    """Hold the lock of ``target`` (whose parent folder must exist) for the ``with`` block.

    Raises :class:`SingError` naming ``target`` if another process holds it. On a file system
    without ``flock`` (some network mounts) a warning is logged and the block runs unlocked.
    """
    key = Path(os.path.abspath(target))
    if key in _held:  # this process holds it already
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    path = lock_path(key)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise SingError(describe_os_error(err, key)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SingError(
                f"another sing process{_holder(path)} is writing it now; wait for it to finish, "
                "or choose another output", key) from None
        except OSError as err:
            os.close(fd)
            logger.warning(f"{key}: cannot lock ({describe_os_error(err)}); going on unlocked")
            yield
            return
        try:  # the previous holder may have removed the file between our open and flock
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    _held[key] = 1
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            os.unlink(path)  # unlinked while still locked: no one can lock a stale inode
        os.close(fd)
