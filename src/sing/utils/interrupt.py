"""SIGTERM ends a command like Ctrl-C: the ``finally`` blocks run, so the temporaries of an
atomic write are removed and locks released (``kill PID`` leaves nothing behind)."""

from __future__ import annotations

import signal
import threading


def _raise_interrupt(signum: int, frame: object) -> None:  # noqa: ARG001
    raise KeyboardInterrupt


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM into :class:`KeyboardInterrupt` in the main thread (from then on)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
