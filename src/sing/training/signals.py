"""Graceful stop on SIGINT / SIGTERM: finish the current step, checkpoint, exit cleanly."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

logger = logging.getLogger(__name__)


class StopRequest:
    """Set by a signal handler; the training loop polls :attr:`signum` between steps."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __bool__(self) -> bool:
        return self.signum is not None

    def handler(self, signum: int, frame: object) -> None:  # noqa: ARG002
        """Signal handler: remember the first signal; a second SIGINT stops at once."""
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        logger.warning("%s received: stopping after this step (checkpoint first)",
                       signal.Signals(signum).name)


@contextlib.contextmanager
def catch_stop_signals() -> Iterator[StopRequest]:
    """Install SIGINT/SIGTERM handlers for the block (main thread only) and restore them."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, request.handler)
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
