"""Progress bars: a redraw per step on a terminal, a few whole lines in a log."""

from __future__ import annotations

import io
import time

from sing.utils.progress import is_terminal, progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_gets_whole_lines_not_a_redraw_per_step(monkeypatch):
    monkeypatch.setenv("SING_LOG_INTERVAL", "30")
    log = io.StringIO()
    for _ in progress_bar(range(2000), file=log, desc="train", unit="batch"):
        time.sleep(0.0002)
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2  # the first draw and the closing line, nothing per batch
    assert "2000/2000" in lines[-1] and lines[-1].startswith("train")


def test_log_interval_is_respected(monkeypatch):
    monkeypatch.setenv("SING_LOG_INTERVAL", "0.05")
    log = io.StringIO()
    for _ in progress_bar(range(30), file=log, desc="slow"):
        time.sleep(0.01)
    lines = log.getvalue().splitlines()
    assert 3 <= len(lines) <= 12  # ~0.3 s of work at one line per 0.05 s, not 30 lines


def test_terminal_keeps_redrawing():
    term = _Terminal()
    assert is_terminal(term) and not is_terminal(io.StringIO())
    for _ in progress_bar(range(50), file=term, mininterval=0, miniters=1):
        pass
    assert term.getvalue().count("\r") >= 50
