"""Open an HTML page in headless Chromium and check it the way a reader would see it.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``:
JSON messages separated by NUL bytes on file descriptors 3 and 4), so neither Selenium nor a
WebSocket client is needed. The check records console errors, uncaught exceptions and failed
loads, waits for every ``<img>`` and ``<audio>`` to load (or fail), and takes a screenshot.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sing.errors import SingError

logger = logging.getLogger(__name__)

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Waits for every image and audio element, then returns what each one did.
_MEDIA_SCRIPT = """
(async () => {
  const bad = el => (el.tagName === 'IMG') ? (el.complete && el.naturalWidth === 0)
                                           : (!!el.error || el.networkState === 3);
  const wait = (el, ok) => new Promise(resolve => {
    if (ok(el)) { resolve(true); return; }
    if (bad(el)) { resolve(false); return; }
    const done = v => resolve(v);
    el.addEventListener(el.tagName === 'IMG' ? 'load' : 'loadedmetadata', () => done(ok(el)));
    el.addEventListener('error', () => done(false));
    if (el.tagName === 'AUDIO' && el.readyState === 0) { el.preload = 'auto'; }
    setTimeout(() => done(ok(el)), 20000);
  });
  const imgs = Array.from(document.images);
  const audios = Array.from(document.querySelectorAll('audio'));
  const imgOk = el => el.complete && el.naturalWidth > 0;
  const audioOk = el => el.readyState >= 1 && el.duration > 0 && !el.error;
  const out = [];
  for (const el of imgs) {
    out.push({kind: 'img', src: (el.getAttribute('src') || '').slice(0, 80),
              ok: await wait(el, imgOk)});
  }
  for (const el of audios) {
    const src = el.currentSrc || el.getAttribute('src') ||
                (el.querySelector('source') || {}).src || '';
    const ok = await wait(el, audioOk);
    out.push({kind: 'audio', src: src.slice(0, 80), ok: ok, duration: el.duration || 0});
  }
  return JSON.stringify(out);
})()
"""


@dataclass
class PageCheck:
    """What headless Chromium saw on a page."""

    media: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    screenshot_png: bytes = b""
    screenshot_std: float = 0.0
    title: str = ""

    @property
    def failed_media(self) -> list[dict[str, Any]]:
        """Images and audio sources that did not load."""
        return [m for m in self.media if not m["ok"]]

    @property
    def ok(self) -> bool:
        """Every source loaded, no console error, and the screenshot is not blank."""
        return not self.failed_media and not self.console_errors and self.screenshot_std > 1.0


def find_chromium() -> str:
    """Path of the Chromium binary (Debian's ``/usr/bin/chromium`` first)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise SingError("chromium is not installed (Debian: apt-get install chromium)")


class _DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int) -> None:
        self.proc = proc
        self.write_fd = to_browser
        self.read_fd = from_browser
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the debugging pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(
        self, method: str, params: dict | None = None, session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session is not None:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.write_fd, data):]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_message(deadline)
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)


def _console_errors(events: list[dict[str, Any]]) -> list[str]:
    errors: list[str] = []
    for ev in events:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {})
            errors.append(str(exc.get("description") or details.get("text")))
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            if entry.get("level") == "error":
                errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
    return errors


def _image_std(png: bytes) -> float:
    import matplotlib.image as mpimg

    pixels = mpimg.imread(io.BytesIO(png), format="png")
    return float(np.asarray(pixels, dtype=np.float64)[..., :3].std() * 255.0)


def check_page(
    html: str | Path, width: int = 1280, height: int = 2000, timeout: float = 120.0
) -> PageCheck:
    """Load ``html`` in headless Chromium; report media loads, console errors, a screenshot.

    A fresh ``--user-data-dir`` is used and removed. Raises :class:`SingError` when Chromium
    is missing or does not answer.
    """
    path = Path(html).resolve()
    if not path.is_file():
        raise SingError("no such page", path)
    binary = find_chromium()
    profile = tempfile.mkdtemp(prefix="sing-chromium-")
    to_r, to_w = os.pipe()
    from_r, from_w = os.pipe()
    args = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
            "--autoplay-policy=no-user-gesture-required", "--mute-audio",
            f"--window-size={width},{height}", "about:blank"]

    def child_fds() -> None:  # runs in the child: the protocol wants fds 3 (in) and 4 (out)
        import fcntl

        high_r = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
        os.dup2(high_r, 3)  # dup2 leaves the copy inheritable across exec
        os.dup2(high_w, 4)

    proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        close_fds=False, preexec_fn=child_fds,
    )
    os.close(to_r)
    os.close(from_w)
    tools = _DevTools(proc, to_w, from_r)
    check = PageCheck()
    try:
        targets = tools.call("Target.getTargets", timeout=timeout)["targetInfos"]
        page = next((t for t in targets if t["type"] == "page"), None)
        if page is None:
            target_id = tools.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        else:
            target_id = page["targetId"]
        session = tools.call(
            "Target.attachToTarget", {"targetId": target_id, "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            tools.call(f"{domain}.enable", session=session)
        tools.call("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                   session=session)
        tools.events.clear()
        nav = tools.call("Page.navigate", {"url": path.as_uri()}, session=session)
        if nav.get("errorText"):
            raise SingError(f"chromium could not open the page ({nav['errorText']})", path)
        tools.wait_event("Page.loadEventFired", timeout=timeout)
        result = tools.call(
            "Runtime.evaluate",
            {"expression": _MEDIA_SCRIPT, "awaitPromise": True, "returnByValue": True},
            session=session, timeout=timeout,
        )
        check.media = json.loads(result["result"]["value"])
        check.title = tools.call(
            "Runtime.evaluate", {"expression": "document.title", "returnByValue": True},
            session=session,
        )["result"].get("value", "")
        shot = tools.call("Page.captureScreenshot", {"format": "png"}, session=session,
                          timeout=timeout)
        check.screenshot_png = base64.b64decode(shot["data"])
        check.screenshot_std = _image_std(check.screenshot_png)
        check.console_errors = _console_errors(tools.events)
    except (TimeoutError, RuntimeError) as err:
        raise SingError(f"headless chromium failed on the page ({err})", path) from None
    finally:
        try:
            tools.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - the browser may already be gone
            pass
        os.close(to_w)
        os.close(from_r)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return check
