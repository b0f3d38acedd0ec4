"""One declaration per setting: a dataclass field that also describes its command-line option.

A config dataclass (``TrainConfig``, ``GmRecipe``, ...) declares each setting once, with its
default, its help and its checked type::

    epochs_ae: int = option(50, "stage 1 epochs", type=integer(0, 10**5))

and :mod:`sing.cli.options` builds the ``argparse`` options, the config from the parsed
arguments and the command line that reproduces a config from those fields (as DAC binds its
constructors' signatures, and nanoGPT keeps its defaults in one block). This module imports
nothing of argparse: a library user builds the dataclass directly, with the same defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

#: The metadata key under which :func:`option` stores an option's description.
KEY = "sing.option"


@dataclasses.dataclass(frozen=True)
class Option:
    """How a dataclass field appears on the command line.

    Attributes:
        help: the help text (the default is appended unless ``default_help`` replaces it).
        type: parses and checks the text (e.g. :func:`sing.utils.numbers.integer`).
        flag: the option's name (default ``--field-name``; booleans that default to True get
            ``--no-field-name``).
        metavar / choices: as argparse takes them.
        parse: text -> value, for values argparse cannot ``type`` alone (tuples, ranges).
        format: value -> text, the inverse of ``parse`` (for the reproducing command line).
        default_help: how the help names the default (e.g. ``"300; 0 with --paper-recipe"``).
        cli: False keeps the field off the command line (library-only settings).
    """

    help: str
    type: Callable[[str], Any] | None = None
    flag: str | None = None
    metavar: str | None = None
    choices: tuple | None = None
    parse: Callable[[str], Any] | None = None
    format: Callable[[Any], str] | None = None
    default_help: str | None = None
    cli: bool = True


def option(default: Any = dataclasses.MISSING, help: str = "", *,
           default_factory: Any = dataclasses.MISSING, compare: bool = True,
           **kwargs: Any) -> Any:
    """A dataclass field with its command-line description (:class:`Option`'s arguments)."""
    metadata = {KEY: Option(help=help, **kwargs)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata,
                                 compare=compare)
    return dataclasses.field(default=default, metadata=metadata, compare=compare)


def options_of(cls: type) -> list[tuple[dataclasses.Field, Option]]:
    """The fields of a dataclass that carry an :class:`Option`, in declaration order."""
    return [(f, f.metadata[KEY]) for f in dataclasses.fields(cls) if KEY in f.metadata]


def default_of(f: dataclasses.Field) -> Any:
    """A field's default value (``MISSING`` for a required field)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING
