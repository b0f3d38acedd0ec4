"""`sing app` in a real browser: Debian's headless Chromium driven through chromium-driver.

The app is started as `sing app` in a subprocess on a free local port with a tiny data set
for the Listen tab. The test plays a note, renders the bundled piece, fetches both WAVs from
the page's download links and checks that they are non-silent and of the right length,
shows that bad input gives a visible error while the server keeps serving, answers two ABX
trials and reads them back from the CSV, and checks that the page asked nothing of any host
but the app's. Screenshots of each tab go to ``$SING_APP_SCREENSHOTS`` when it is set (the
PNGs in docs/ come from such a run).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--mute-audio",
                  "--window-size=1000,1250")


# Clicks Play and returns the milliseconds until the WAV link names the note (timed in the page).
CLICK_TO_LINK = """
const [suffix, done] = [arguments[0], arguments[arguments.length - 1]];
const link = () => { const a = document.querySelector('#play-wav a.download-link');
                     return a ? a.href : ''; };
const start = performance.now();
document.getElementById('play-button').click();
const poll = () => link().endsWith(suffix) ? done(performance.now() - start)
                                           : setTimeout(poll, 2);
poll();
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory, listen_data: Path) -> Iterator[dict]:
    """`sing app` on a free port; yields its URL and the answers CSV."""
    tmp = tmp_path_factory.mktemp("app")
    answers = tmp / "answers.csv"
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", GRADIO_TEMP_DIR=str(tmp / "gradio"))
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "sing", "app", "--port", str(port), "--listen-data",
         str(listen_data), "--answers", str(answers), "--seed", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:  # not waited for here: the browser and the test's model start meanwhile
        yield {"url": url, "answers": answers, "log": tmp / "server.log", "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Headless Chromium through Debian's chromium-driver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), \
        "chromium and chromium-driver are needed (make setup installs them)"
    profile = tempfile.mkdtemp(prefix="sing-app-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait_until_up(server: dict, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server["proc"].poll() is not None:
            raise AssertionError(f"sing app exited: {server['log'].read_text()}")
        try:
            with urllib.request.urlopen(server["url"], timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"sing app did not start in {timeout:.0f} s")
        time.sleep(0.3)


def _wait(predicate, timeout: float, what: str, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def _link(driver, elem_id: str) -> str | None:
    return driver.execute_script(
        f"const a = document.querySelector('#{elem_id} a.download-link');"
        "return a ? a.href : null;")


def _wav(url: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with urllib.request.urlopen(url, timeout=30) as reply:
        data = reply.read()
    return sf.read(io.BytesIO(data), dtype="float64")


def _errors(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.toast-message-item.error'))"
        ".map(e => e.innerText);")


def _shot(driver, name: str) -> None:
    folder = os.environ.get("SING_APP_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    png = driver.get_screenshot_as_png()
    try:  # a palette PNG: a tenth of the size
        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128)
        image.save(Path(folder) / f"app_{name}.png", optimize=True)
    except ImportError:
        (Path(folder) / f"app_{name}.png").write_bytes(png)


def _tab(driver, name: str) -> None:
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, "button[role=tab]"):
        if button.text.strip() == name:
            button.click()
            return
    raise AssertionError(f"no tab {name}")


def _type(driver, selector: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.CSS_SELECTOR, selector)
    box.clear()
    box.send_keys(text)


def test_app_in_headless_chromium(app_server: dict, browser, gm_model) -> None:
    from selenium.webdriver.common.by import By

    import sing.api
    from sing.midi.pieces import CANON

    driver = browser
    _wait_until_up(app_server)
    driver.get(app_server["url"])
    _wait(lambda: driver.find_elements(By.ID, "play-button"), 30, "the page")

    # -- Play: a note, its WAV (1 s at 16 kHz, not silent) and spectrogram ------------------
    _type(driver, "#play-pitch textarea", "A4")
    driver.execute_script("document.activeElement.blur();")  # the textbox sends it on blur
    time.sleep(0.3)
    driver.set_script_timeout(30)
    click_to_link = driver.execute_async_script(CLICK_TO_LINK, "-069-100.wav") / 1000
    href = _link(driver, "play-wav")
    wav, rate = _wav(href)
    assert rate == 16000 and wav.shape == (16000,)
    assert np.sqrt(np.mean(wav**2)) > 1e-3
    assert href.endswith("keyboard_acoustic_000-069-100.wav")
    np.testing.assert_allclose(
        wav, sing.api.synthesize(gm_model, "keyboard_acoustic_000", 69, 100).numpy(),
        atol=1.5 / 32767)  # the WAV holds the generation path's note (16-bit)
    _wait(lambda: driver.execute_script(
        "const i = document.querySelector('#play-spectrogram img');"
        "return i && i.complete && i.naturalWidth > 0;"), 20, "the spectrogram")
    print(f"click to WAV link in the browser: {click_to_link:.2f} s")
    assert click_to_link < 3.0
    _shot(driver, "play")

    # -- bad input: a visible error, and the server goes on serving -------------------------
    _type(driver, "#play-pitch textarea", "H9")
    driver.find_element(By.ID, "play-button").click()
    _wait(lambda: any("'H9' is not a pitch" in e for e in _errors(driver)), 20, "the error")
    _type(driver, "#play-pitch textarea", "60")
    driver.find_element(By.ID, "play-button").click()
    _wait(lambda: (_link(driver, "play-wav") or "").endswith("-060-100.wav"), 20,
          "a note after the error")

    # -- Render: a file that is not MIDI, then the bundled piece with a progress bar ----------
    _tab(driver, "Render")
    junk = Path(tempfile.mkdtemp()) / "notes.mid"
    junk.write_text("this is not a MIDI file")
    driver.find_element(By.CSS_SELECTOR, "#render-upload input[type=file]").send_keys(str(junk))
    _wait(lambda: any("notes.mid: not a Standard MIDI File" in e for e in _errors(driver)), 20,
          "the upload's error")
    bundled = driver.find_element(
        By.XPATH, "//*[@id='render-source']//label[contains(., 'Bundled')]//input")
    driver.execute_script("arguments[0].click();", bundled)  # the error overlay covers it
    assert bundled.is_selected()
    driver.find_element(By.ID, "render-button").click()
    seen: set[str] = set()

    def rendered() -> str | None:
        seen.add(driver.execute_script(
            "const t = document.querySelector('#render-audio [data-testid=status-tracker]');"
            "return t ? t.innerText : '';") or "")
        return _link(driver, "render-wav")

    href = _wait(rendered, 90, "the rendered WAV", step=0.05)
    mix, rate = _wav(href)
    expected = sing.api.render_midi(gm_model, CANON).numpy()
    assert rate == 16000 and len(mix) == len(expected)
    assert len(mix) / rate > 52.0 and np.sqrt(np.mean(mix**2)) > 1e-2
    np.testing.assert_allclose(mix, expected, atol=1.5 / 32767)
    assert any("notes" in s or "reading" in s for s in seen), seen  # the progress bar showed
    _shot(driver, "render")

    # -- Listen: two ABX trials answered, each in the CSV at once ---------------------------
    _tab(driver, "Listen")
    _type(driver, "#listen-id textarea", "test listener")
    driver.find_element(By.ID, "listen-start").click()
    status = lambda: driver.find_element(By.ID, "listen-status").text  # noqa: E731
    _wait(lambda: "Trial 1 of 8" in status(), 30, "the first trial")
    abx_done, answered, shot = 0, 0, False
    while abx_done < 2:
        text = status()
        is_abx = "ABX" in text
        durations = _wait(lambda abx=is_abx: driver.execute_script(
            "const d = ['a', 'b', 'x'].map(k => {"
            "  const box = document.getElementById('listen-' + k);"
            "  const e = box && box.offsetParent !== null ? box.querySelector('audio') : null;"
            "  return e ? e.duration : null;});"
            "const ready = v => v !== null && Number.isFinite(v);"
            "return ready(d[0]) && ready(d[1]) && (arguments[0] ? ready(d[2]) : d[2] === null)"
            "  ? d : null;", abx), 20, "the trial's audio")
        assert durations == ([1.0, 1.0, 1.0] if is_abx else [1.0, 1.0, None]), durations
        if is_abx and not shot:
            _shot(driver, "listen")
            shot = True
        driver.find_element(By.ID, "answer-a" if answered % 2 == 0 else "answer-b").click()
        answered += 1
        abx_done += is_abx
        _wait(lambda n=answered: f"Trial {n + 1} of 8" in status() or "All 8" in status(), 30,
              "the next trial")
        with open(app_server["answers"], newline="") as f:
            assert len(list(csv.DictReader(f))) == answered  # written at once
    with open(app_server["answers"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["listener"] for r in rows} == {"test listener"}
    abx = [r for r in rows if r["kind"] == "abx"]
    assert len(abx) == 2
    for r in abx:
        assert {r["a"], r["b"]} == {"sing", "ground_truth"} and r["x"] in (r["a"], r["b"])
        assert r["chosen"] == (r["a"] if r["answer"] == "A" else r["b"])
        assert r["correct"] == str(int(r["chosen"] == r["x"]))
        assert r["family"] in ("keyboard", "string")

    # -- nothing was fetched from anywhere but the app --------------------------------------
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = urlparse(message["params"]["request"]["url"])
            if url.scheme in ("http", "https", "ws", "wss"):
                hosts.add(url.hostname)
    assert hosts == {"127.0.0.1"}, hosts
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
