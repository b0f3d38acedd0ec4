"""Every numeric option of every command is checked while parsing (issue 10, item 2).

The test walks the whole ``sing`` parser: no option may use a bare ``int`` / ``float`` type,
and every numeric option refuses NaN, infinities and values just outside its declared range
with one line ``sing: error: ...`` and exit 2, before any work starts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from sing.cli import build_parser, main
from sing.cli.validate import Number


def _walk(parser: argparse.ArgumentParser,
          path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))
        else:
            yield path, action


def _numeric_options() -> list[tuple[tuple[str, ...], str, Number]]:
    found = []
    for path, action in _walk(build_parser()):
        if isinstance(action.type, Number):
            found.append((path, action.option_strings[0] if action.option_strings else "",
                          action.type))
    return found


def _bad_values(kind: Number) -> list[str]:
    values = ["nan", "inf", "-inf", "1e30", str(10**30), "abc", ""]
    if kind.kind is int:
        values += [str(int(kind.low) - 1), str(int(kind.high) + 1), "2.5"]
    else:
        values += [repr(kind.low) if kind.low_open else repr(kind.low - 1e-3 - abs(kind.low)),
                   repr(kind.high) if kind.high_open else repr(kind.high * 2 + 1)]
    return values


def test_no_option_takes_a_bare_number():
    bare = [f"sing {' '.join(path)} {action.option_strings or action.dest}"
            for path, action in _walk(build_parser()) if action.type in (int, float)]
    assert bare == []


def test_the_walk_finds_the_numeric_options():
    options = {(" ".join(path), opt) for path, opt, _ in _numeric_options()}
    # a few known ones: if the walk found nothing, the test below would pass vacuously
    assert {("dataset build", "--duration"), ("train", "--lr"), ("evaluate", "--limit"),
            ("report", "--limit"), ("generate", "--pitch"), ("dataset split", "--seed")} <= options
    assert len(options) >= 29


@pytest.mark.parametrize("path,option,kind", _numeric_options(),
                         ids=lambda x: x if isinstance(x, str) else None)
def test_every_numeric_option_refuses_bad_values(path, option, kind, capsys):
    assert option, f"sing {' '.join(path)}: a numeric positional argument"
    for value in _bad_values(kind):
        assert main([*path, f"{option}={value}"]) == 2, (path, option, value)
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(f"sing: error: {option}: expected {kind.describe()}, not '{value}'")


def test_in_range_values_parse():
    args = build_parser().parse_args(["dataset", "build", "--out", "x", "--duration", "4",
                                      "--hold", "0.5", "--sample-rate", "16000"])
    assert (args.duration, args.hold, args.sample_rate) == (4.0, 0.5, 16000)
    args = build_parser().parse_args(["train", "--data", "d", "--out", "o", "--lr", "1e-3",
                                      "--epochs-ae", "0", "--checkpoint-every", "0"])
    assert (args.lr, args.epochs_ae, args.checkpoint_every) == (1e-3, 0, 0.0)


@pytest.mark.parametrize("argv,message", [
    (["dataset", "build", "--out", "x", "--duration", "1e9"],
     "sing: error: --duration: expected a number in (0, 60], not '1e9'"),
    (["train", "--data", "d", "--out", "o", "--lr", "inf"],
     "sing: error: --lr: expected a number in (0, 1], not 'inf'"),
    (["evaluate", "--model", "m", "--data", "d", "--limit", "-3"],
     "sing: error: --limit: expected a whole number from 0 to 1e+09, not '-3'"),
])
def test_issue_cases_are_one_line_without_traceback(argv, message):
    proc = subprocess.run([sys.executable, "-m", "sing", *argv], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(message)
    assert proc.stderr.count("\n") == 1


def test_usage_errors_are_one_line(capsys):
    assert main(["train", "--data", "d"]) == 2
    err = capsys.readouterr().err
    assert err == ("sing: error: the following arguments are required: --out "
                   "(see 'sing train --help')\n")
