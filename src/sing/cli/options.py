"""Command-line options generated from config dataclasses (:mod:`sing.utils.options`).

* :func:`add_options` declares one option per :func:`~sing.utils.options.option` field;
* :func:`config_from_args` builds the dataclass from the parsed arguments;
* :func:`command_args` writes the options that reproduce a config (``GmRecipe.command``);
* :func:`add_device_option` is the one ``--device`` declaration of every command;
* :func:`add_dtype_option` is the one ``--dtype`` declaration (parsed by
  :func:`sing.checks.compute_dtype`).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from sing.utils.options import Option, default_of, options_of


def flag_of(f: dataclasses.Field, opt: Option) -> str:
    """The option's name: ``opt.flag``, ``--no-NAME`` for a True boolean, else ``--NAME``."""
    if opt.flag:
        return opt.flag
    name = f.name.replace("_", "-")
    return f"--no-{name}" if default_of(f) is True else f"--{name}"


def _show(value: Any, opt: Option) -> str:
    if opt.format is not None:
        return opt.format(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


def _checked(parse: Any) -> Any:
    """``parse`` as an argparse type: its :class:`SingError` becomes a usage error."""
    from sing.errors import SingError

    def parse_text(text: str) -> Any:
        try:
            return parse(text)
        except SingError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse_text.__name__ = getattr(parse, "__name__", "value")
    return parse_text


def add_options(parser: argparse.ArgumentParser, cls: type,
                exclude: tuple[str, ...] = ()) -> None:
    """Add one option per command-line field of the dataclass ``cls`` (dest = field name)."""
    for f, opt in options_of(cls):
        if not opt.cli or f.name in exclude:
            continue
        default = default_of(f)
        flag = flag_of(f, opt)
        kwargs: dict[str, Any] = {"dest": f.name}
        if isinstance(default, bool):
            kwargs["action"] = "store_false" if default else "store_true"
            kwargs["help"] = opt.help
        else:
            if default is dataclasses.MISSING:
                kwargs["required"] = True
                kwargs["help"] = opt.help
            else:
                shown = opt.default_help or ("none" if default is None else _show(default, opt))
                kwargs["default"] = default
                kwargs["help"] = f"{opt.help} (default {shown})"
            kwargs["type"] = _checked(opt.parse) if opt.parse else opt.type or str
            if opt.metavar:
                kwargs["metavar"] = opt.metavar
            if opt.choices:
                kwargs["choices"] = opt.choices
        parser.add_argument(flag, **kwargs)


def config_from_args(cls: type, args: argparse.Namespace, **values: Any) -> Any:
    """``cls(**fields from args, **values)``: every command-line field of ``cls`` that
    ``args`` has (``values`` fill or override the others)."""
    given = {f.name: getattr(args, f.name) for f, opt in options_of(cls)
             if opt.cli and hasattr(args, f.name)}
    given.update(values)
    return cls(**given)


def command_args(config: Any, every: bool = True, exclude: tuple[str, ...] = ()) -> list[str]:
    """The options that rebuild ``config`` with :func:`config_from_args`: every command-line
    field (``every``) or only those that differ from their default. Booleans appear as their
    flag when they differ from the default; None values are left out."""
    argv: list[str] = []
    for f, opt in options_of(type(config)):
        if not opt.cli or f.name in exclude:
            continue
        value, default = getattr(config, f.name), default_of(f)
        if isinstance(default, bool):
            if value != default:
                argv.append(flag_of(f, opt))
            continue
        if value is None or (not every and value == default):
            continue
        argv += [flag_of(f, opt), _show(value, opt)]
    return argv


def add_device_option(parser: argparse.ArgumentParser, default: str = "cpu") -> None:
    """The ``--device`` option (``sing.utils.device.resolve_device`` reads it)."""
    parser.add_argument("--device", default=default,
                        help=f"torch device: auto, cpu, cuda, cuda:1, ... (default {default})")


def add_dtype_option(parser: argparse.ArgumentParser, default: str | None = "float32",
                     default_help: str = "float32", names: bool = False) -> None:
    """The ``--dtype`` option of the commands that generate notes; ``args.dtype`` is a
    ``torch.dtype`` (:func:`sing.checks.compute_dtype`), or ``default`` when that is None;
    with ``names`` it is the dtype's name (a str the library resolves: no torch imported
    while parsing, for a command that may run without it)."""
    from sing import checks
    from sing.errors import SingError

    def dtype(text: str) -> Any:
        if text not in checks.CLI_DTYPES:
            raise SingError(f"--dtype must be {', '.join(checks.CLI_DTYPES)}, not {text!r:.40}")
        return text if names else checks.compute_dtype(text)

    parser.add_argument(
        "--dtype", type=_checked(dtype),
        default=None if default is None else default if names else checks.compute_dtype(default),
        metavar="{" + ",".join(checks.CLI_DTYPES) + "}",
        help="compute dtype of generation: float32, bfloat16 (fast on CPUs with AVX-512 BF16 "
        f"/ AMX), int8 (the CPU's quantised fast path, in the parts of the model measured to keep "
        f"its sound) (default {default_help})")
