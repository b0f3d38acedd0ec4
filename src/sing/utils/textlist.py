"""Text files of names, one a line (``sing generate --list FILE``): every error says FILE:LINE.

The file is UTF-8, with or without a byte-order mark (Windows editors write one, and it would
otherwise glue itself to the first name); blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sing.errors import SingError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One name of a list file and where it is."""

    text: str
    path: Path
    line: int

    @property
    def where(self) -> str:
        """``FILE:LINE``."""
        return f"{self.path}:{self.line}"


def read_entries(path: str | Path, what: str = "note names") -> list[Entry]:
    """The entries of a list file; :class:`SingError` (naming the file, or FILE:LINE) if it
    cannot be read, is not UTF-8 text, or holds no entry."""
    from sing.utils.inputs import read_input

    path = Path(path)
    data = read_input(path, f"list of {what}")  # read once; a FIFO never blocks
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SingError(f"not a UTF-8 text file of {what}", f"{path}:{line}") from None
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        name = raw.strip()
        if name and not name.startswith("#"):
            entries.append(Entry(name, path, number))
    if not entries:
        raise SingError(f"no {what} in the list", path)
    return entries


def resolve_entries(entries: list[Entry], resolve: Callable[[str], T]) -> list[T]:
    """``resolve(entry.text)`` for every entry; a :class:`SingError` it raises is re-raised
    with the entry's ``FILE:LINE`` in front."""
    out = []
    for entry in entries:
        try:
            out.append(resolve(entry.text))
        except SingError as err:
            raise SingError(str(err), entry.where) from None
    return out
