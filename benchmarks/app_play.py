"""Click-to-audio of `sing app`'s Play tab with the shipped model.

Starts the app in this process on a free local port (the model loaded once, the server warmed
up as `sing app` does), then times a note three ways, each over ``--notes`` different notes
(instrument and pitch change every time, so nothing is cached):

* ``handler``: the Play handler's own work: ``AppSession.play`` (the generation path's fast
  path) and writing the WAV;
* ``server``: a request through Gradio's queue with ``gradio_client`` until the reply names
  the WAV (what the page waits for, without a browser);
* ``browser`` (``--browser``): headless Chromium (Debian's, through chromium-driver): from the
  click on Play until the page shows the WAV's download link.

    .venv/bin/python benchmarks/app_play.py
    .venv/bin/python benchmarks/app_play.py --notes 20 --browser
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import tempfile
import time

from machine import machine_load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(name: str, seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return (f"{name:8s} median {statistics.median(ms):6.0f} ms   p90 {p90:6.0f} ms   "
            f"max {ms[-1]:6.0f} ms   (n={len(ms)})")


def _browser_times(url: str, notes: list[tuple[str, int]]) -> list[float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--mute-audio",
                 "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='sing-bench-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # clicked and timed inside the page (performance.now), so WebDriver's round trips and
    # polling do not count: from the click until the download link names the new note
    script = """
const [suffix, done] = [arguments[0], arguments[arguments.length - 1]];
const link = () => { const a = document.querySelector('#play-wav a.download-link');
                     return a ? a.href : ''; };
const start = performance.now();
document.getElementById('play-button').click();
const poll = () => link().endsWith(suffix) ? done(performance.now() - start)
                                           : setTimeout(poll, 2);
poll();
"""
    driver.set_script_timeout(60)
    times = []
    try:
        driver.get(url)
        while not driver.find_elements(By.ID, "play-button"):
            time.sleep(0.05)
        for _, pitch in notes:  # the instrument stays the page's; the pitch changes
            box = driver.find_element(By.CSS_SELECTOR, "#play-pitch textarea")
            box.clear()
            box.send_keys(str(pitch))
            driver.execute_script("document.activeElement.blur();")  # sends it on blur
            time.sleep(0.2)
            ms = driver.execute_async_script(script, f"-{pitch:03d}-100.wav")
            times.append(ms / 1000)
    finally:
        driver.quit()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=20, help="notes timed per way")
    parser.add_argument("--browser", action="store_true", help="also time headless Chromium")
    args = parser.parse_args()

    from sing.app.ui import offline_environment

    offline_environment()
    import torch
    from gradio_client import Client

    import sing.api
    from sing.app.session import AppSession
    from sing.app.ui import Files, build_app, launch

    start = time.perf_counter()
    model = sing.api.load_model(None)
    session = AppSession(model)
    session.warm_up()
    files = Files()
    demo = build_app(session, None, files)
    port = _free_port()
    launch(demo, "127.0.0.1", port, block=False)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads; "
          f"{machine_load()}; app ready in {time.perf_counter() - start:.1f} s")
    names = [c.name for c in session.instrument_choices()]
    notes = [(names[(7 * i) % len(names)], 48 + (i % 24)) for i in range(args.notes)]

    handler = []
    for name, pitch in notes:
        t = time.perf_counter()
        audio = session.play(name, pitch, 100)
        files.wav(audio, audio.title)
        handler.append(time.perf_counter() - t)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
    client.predict(*demo.sing_warm_up, api_name="/play")  # the client's own first call
    server = []
    for name, pitch in notes:
        t = time.perf_counter()
        client.predict(name, 1.0, None, 0.5, None, 0.5, str(pitch), 100, api_name="/play")
        server.append(time.perf_counter() - t)
    print(_summary("handler", handler))
    print(_summary("server", server))
    if args.browser:
        print(_summary("browser", _browser_times(f"http://127.0.0.1:{port}/", notes)))
    print(f"({machine_load()} at the end)")
    demo.close()
    files.close()


if __name__ == "__main__":
    main()
