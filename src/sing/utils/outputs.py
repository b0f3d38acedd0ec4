"""Outputs never destroy inputs: one check for every command that writes.

:func:`check_output` refuses, before any work, an output file that is (or resolves to, through
symbolic or hard links) one of the command's inputs, that exists and is not a regular file (a
device node, a FIFO, a folder), or whose folder is missing or not writable.
:func:`check_output_folder` does the same for an output folder that is replaced as a whole
(``atomic_directory``) or filled with files: it may not be, nor contain, an input.
:func:`writing` holds the output's lock (:mod:`sing.utils.lock`) for the write and removes the
temporaries a killed writer of the same output left behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from sing.errors import SingError
from sing.utils.atomic import check_folder_path, remove_stale_temporaries
from sing.utils.lock import exclusive

#: An input of a command: a path (or None when not given).
Inputs = Iterable[str | Path | None]


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(path)))


def _same_file(a: Path, b: Path) -> bool:
    if _real(a) == _real(b):
        return True
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def is_inside(path: str | Path, folder: str | Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (links resolved)."""
    real, top = _real(path), _real(folder)
    return real == top or top in real.parents


def check_output(path: str | Path, inputs: Inputs = (), what: str = "output") -> Path:
    """Refuse ``path`` as an output file (one :class:`SingError` naming it) if it is one of
    ``inputs`` (through links), exists and is not a regular file, or cannot be written there.
    Returns ``path``."""
    path = Path(path)
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            raise SingError(f"writing the {what} file here would overwrite an input of this "
                            f"command ({source}); choose another output", path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise SingError(f"cannot write: {os.strerror(err.errno or 0).lower()}", path) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise SingError(f"is a folder; give a {what} file name", path)
    if mode is not None and not stat.S_ISREG(mode):
        raise SingError(f"exists and is not a regular file (a device, a FIFO or a socket): "
                        f"refusing to replace it with the {what} file", path)
    parent = path.parent if str(path.parent) else Path(".")
    check_folder_path(parent)
    if not parent.is_dir():
        raise SingError("cannot write: its folder does not exist", path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SingError("cannot write: permission denied", path)
    return path


def check_output_folder(path: str | Path, inputs: Inputs = (), what: str = "output folder"
                        ) -> Path:
    """Refuse ``path`` as an output folder if it is, or holds, one of ``inputs`` (through
    links), or is a file. Returns ``path``."""
    path = Path(path)
    for source in inputs:
        if source is not None and is_inside(source, path):
            raise SingError(f"the {what} would replace or mix with an input of this command "
                            f"({source}); choose another folder", path)
    check_folder_path(path)
    return path


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[Path]:
    """Hold the lock of the output ``path`` for the block (one line if another sing process
    writes it now) and first remove the temporaries a killed writer of it left."""
    path = Path(path)
    with exclusive(path):
        remove_stale_temporaries(path.parent if str(path.parent) else Path("."), path.name)
        yield path
