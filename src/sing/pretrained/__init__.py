"""The model shipped inside the package: a General MIDI SING model trained by our own code.

``gm.safetensors`` (package data, beside this file) is what ``sing.api.load_model()``,
``sing generate``, ``sing render`` and ``sing info`` use when no model is named. An install
without it (e.g. a source checkout before the model is added) says so in one line.
"""

from __future__ import annotations

from pathlib import Path

from sing.errors import SingError

#: Where the shipped model lives (package data). Tests may point it elsewhere.
SHIPPED_MODEL: Path = Path(__file__).resolve().parent / "gm.safetensors"

NO_SHIPPED_MODEL = "no shipped model in this install; pass --model FILE"


def shipped_model_path() -> Path:
    """The shipped model file, or :class:`SingError` (one line) when this install has none."""
    path = SHIPPED_MODEL
    if not path.is_file():
        raise SingError(NO_SHIPPED_MODEL)
    return path


def resolve_model_path(path: str | Path | None) -> Path:
    """``path`` itself when given, else the shipped model (see :func:`shipped_model_path`)."""
    return Path(path) if path is not None else shipped_model_path()
