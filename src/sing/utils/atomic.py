"""Atomic file and folder writes: nothing already written is lost or left half-written.

Writes go to a temporary sibling, are flushed and fsynced, then renamed over the target
(``os.replace`` is atomic on POSIX). If anything fails (full disk, killed process), the
previous file is untouched and the temporary one is removed (or, after SIGKILL, left as a
``.tmp-*`` sibling that the next write ignores).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sing.errors import SingError, describe_os_error


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
    """
    path = Path(path)
    make_folder(path.parent)
    if path.exists() and not path.is_dir():
        raise SingError("is a file, not a folder", path)
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
