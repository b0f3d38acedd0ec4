"""Checked numbers: every numeric option and setting is finite and in its range when parsed.

Each numeric option of every ``sing`` command (and each numeric field of the configs the
options are generated from, :mod:`sing.utils.options`) declares its type with :func:`integer`
or :func:`real` instead of a bare ``int`` / ``float``: the value is checked while the command
line is parsed, before any work starts, so ``--duration 1e9``, ``--lr inf`` or ``--limit -1``
give one line and exit 2 instead of a 58 TiB allocation or a traceback.
"""

from __future__ import annotations

import argparse
import math

#: Seeds are used by NumPy, which takes 0 <= seed < 2**32.
SEED_MAX = 2**32 - 1
#: The largest count of notes any option may name (NSynth has 305,979).
NOTES_MAX = 10**9
#: The largest batch of notes (4,096 notes of 4 s are 1 GB of float32 audio).
BATCH_MAX = 4096


class Number:
    """An argparse ``type``: parses an int or a float and checks it lies in ``[low, high]``
    (``low_open`` / ``high_open`` exclude the bound). ``low`` and ``high`` are always finite,
    so NaN, infinities and absurd values are refused."""

    def __init__(self, kind: type, low: float, high: float, *, low_open: bool = False,
                 high_open: bool = False) -> None:
        if kind not in (int, float) or not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("a Number is an int or a float with finite bounds")
        self.kind = kind
        self.low = low
        self.high = high
        self.low_open = low_open
        self.high_open = high_open
        self.__name__ = kind.__name__  # argparse names the type in some messages

    def describe(self) -> str:
        """What the option accepts, e.g. ``a whole number from 1 to 4096``."""
        if self.kind is int:
            return f"a whole number from {self.low:g} to {self.high:g}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"a number in {left}{self.low:g}, {self.high:g}{right}"

    def contains(self, value: float) -> bool:
        """Whether ``value`` is finite and within the bounds."""
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __call__(self, text: str) -> int | float:
        value: int | float
        try:
            value = int(text.strip()) if self.kind is int else float(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(
                f"expected {self.describe()}, not '{text}'") from None
        if not self.contains(value):
            raise argparse.ArgumentTypeError(f"expected {self.describe()}, not '{text}'")
        return value

    def __repr__(self) -> str:
        return f"Number({self.kind.__name__}, {self.describe()})"


def integer(low: int, high: int) -> Number:
    """An integer option in ``[low, high]``."""
    return Number(int, low, high)


def real(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Number:
    """A finite float option in ``[low, high]`` (bounds excluded with ``low_open`` /
    ``high_open``)."""
    return Number(float, low, high, low_open=low_open, high_open=high_open)


#: Common option types.
SEED = integer(0, SEED_MAX)
BATCH_SIZE = integer(1, BATCH_MAX)
COUNT = integer(0, NOTES_MAX)
POSITIVE_COUNT = integer(1, NOTES_MAX)
LEARNING_RATE = real(0.0, 1.0, low_open=True)
MIDI = integer(0, 127)
