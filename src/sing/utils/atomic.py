"""Atomic file and folder writes: nothing already written is lost or left half-written.

Writes go to a temporary sibling, are flushed and fsynced, then renamed over the target
(``os.replace`` is atomic on POSIX). If anything fails (full disk, killed process), the
previous file is untouched and the temporary one is removed (or, after SIGKILL, left as a
``.tmp-<name>.<8 characters>`` sibling that the next write ignores).

:func:`atomic_directory` holds the lock of its target (:mod:`sing.utils.lock`) while it builds,
so two processes never build the same folder at once, and removes the temporaries a killed
build of the same target left (:func:`remove_stale_temporaries`): never those of a live one.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sing.errors import SingError, describe_os_error
from sing.utils.lock import exclusive, is_locked

logger = logging.getLogger(__name__)

#: Our temporaries: ``.tmp-<name>.<mkstemp suffix>`` and ``.old-<name>.<pid>``.
_TEMPORARY = re.compile(r"\.(?:tmp-(?P<tmp>.+)\.[a-z0-9_]{8}|old-(?P<old>.+)\.[0-9]+)")


def temporary_target(name: str) -> str | None:
    """The name of the file or folder a temporary named ``name`` was for, or None if ``name`` is
    not one of our temporaries."""
    match = _TEMPORARY.fullmatch(name)
    return None if match is None else match.group("tmp") or match.group("old")


def stale_temporaries(folder: str | Path, target: str | None = None) -> list[Path]:
    """Temporaries in ``folder`` (of ``target`` only, if given) that no live process is writing:
    left by a killed process. A temporary whose target is locked is in use and not listed."""
    folder = Path(folder)
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        name = temporary_target(entry.name)
        if name is None or (target is not None and name != target):
            continue
        if not is_locked(folder / name):
            found.append(entry)
    return found


def remove_stale_temporaries(folder: str | Path, target: str | None = None) -> list[Path]:
    """Remove :func:`stale_temporaries` (logged); returns what was removed. Call it while
    holding the lock of ``target`` (or of ``folder``), so no other process is creating one."""
    removed = []
    for entry in stale_temporaries(folder, target):
        logger.info(f"removing {entry}, left by an interrupted sing process")
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed


def check_folder_path(path: str | Path) -> None:
    """Raise :class:`SingError` now if ``path`` could never be a folder because it, or one of
    its parents, is a file: commands call it on their output folder before any work starts."""
    path = Path(path)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                needed = "" if part == path else f" (needed for {path})"
                raise SingError(f"is a file, not a folder{needed}", part)
            return


def make_folder(path: str | Path) -> Path:
    """Create the folder ``path`` and its parents (``mkdir -p``), with one clear line on failure:
    a file in the way is named ("X: is a file, not a folder"), other errors by
    :func:`~sing.errors.describe_os_error`. Returns ``path``."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        check_folder_path(path)
        raise SingError(describe_os_error(err, path)) from None
    except OSError as err:
        raise SingError(describe_os_error(err, path)) from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it onto ``path``.

    Usage::

        with atomic_write("run/checkpoint.pt") as f:
            torch.save(state, f)

    Raises :class:`SingError` (one line naming ``path``) on an OSError such as a full disk.
    """
    path = Path(path)
    make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}.", dir=path.parent)
    except OSError as err:
        raise SingError(describe_os_error(err, path)) from None
    tmp_path = Path(tmp)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            # mkstemp creates 0600; give the file the permissions a plain open() would.
            os.fchmod(f.fileno(), 0o666 & ~_umask())
        os.replace(tmp_path, path)
        _fsync_dir(path.parent)
    except OSError as err:
        tmp_path.unlink(missing_ok=True)
        raise SingError(describe_os_error(err, path)) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_directory(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Build a folder in a temporary sibling and rename it onto ``path`` when the block succeeds.

    An interrupted build leaves ``path`` as it was (absent, or the previous complete version).
    With ``overwrite`` an existing ``path`` is replaced only once the new one is complete.
    The lock of ``path`` is held throughout (:class:`SingError` if another process holds it),
    and the temporaries of killed builds of ``path`` are removed first.
    """
    path = Path(path)
    check_folder_path(path)
    make_folder(path.parent)
    with exclusive(path):
        if not path.exists():  # killed between the two renames: put the previous one back
            for old in sorted(path.parent.glob(f".old-{glob.escape(path.name)}.*")):
                if temporary_target(old.name) == path.name and old.is_dir():
                    logger.info(f"restoring {path} from {old}")
                    os.replace(old, path)
                    break
        remove_stale_temporaries(path.parent, path.name)
        with _build_directory(path, overwrite) as tmp:
            yield tmp


@contextlib.contextmanager
def _build_directory(path: Path, overwrite: bool) -> Iterator[Path]:
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}.", dir=path.parent))
    except OSError as err:
        raise SingError(describe_os_error(err, path)) from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            if not overwrite:
                raise SingError("already exists", path)
            old = path.parent / f".old-{path.name}.{os.getpid()}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SingError(describe_os_error(err, path)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
