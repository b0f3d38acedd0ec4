"""sing.cli.COMMANDS (command -> module, for lazy registration) equals what the modules
register, so a command named on the command line finds its module."""

from __future__ import annotations

import argparse
import importlib

from sing.cli import COMMANDS, build_parser


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_commands_table_equals_the_registrations() -> None:
    registered: dict[str, str] = {}
    for module in dict.fromkeys(COMMANDS.values()):
        parser = argparse.ArgumentParser()
        importlib.import_module(f"sing.cli.{module}").register(parser.add_subparsers())
        for name in _commands(parser):
            registered[name] = module
    assert registered == COMMANDS
    assert _commands(build_parser()) == list(COMMANDS)  # sing --help lists them in order


def test_each_named_command_parses_alone() -> None:
    for name, module in COMMANDS.items():
        names = _commands(build_parser([name, "--help"]))
        assert name in names
        assert set(names) == {c for c, m in COMMANDS.items() if m == module}
    # an unknown command: the full parser, whose error lists every command
    assert _commands(build_parser(["nonsense"])) == list(COMMANDS)
