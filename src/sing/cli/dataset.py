"""`sing` sub-commands of this area (placeholder until its issue lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Register this module's sub-commands on the `sing` parser."""
