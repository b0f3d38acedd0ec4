"""The page of ``sing app``: Gradio Blocks over :mod:`sing.app.session` and
:mod:`sing.app.listening`.

Tabs: **Play** (an instrument or a blend of up to three, a pitch, a velocity: the note, its
spectrogram and a WAV file), **Render** (an uploaded MIDI file or the bundled canon, optional
per-track instruments, a progress bar, the mix and a WAV file) and **Listen** (the blind test).
The SoundFont export tab is added only when ``sing.export`` exists (not yet in this version).

Every handler runs under :func:`guarded`: a :class:`SingError` (bad input) becomes a
``gr.Error`` the page shows; any other exception is logged and shown as an internal error;
either way the request ends and the server keeps serving. Nothing is fetched from the
network: the front end ships in the gradio wheel, the theme uses the system's fonts, there are
no share links and analytics are off (:func:`offline_environment`).
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sing.app.listening import ListeningTest, Trial
from sing.app.session import MAX_BLEND, AppSession, Audio, spectrogram_image, wav_bytes
from sing.errors import SingError

logger = logging.getLogger(__name__)

#: Largest upload the server stores (the Render tab refuses MIDI files over 1 MB itself, with
#: its own message; Gradio refuses anything over this before storing it).
MAX_UPLOAD_BYTES = 4_000_000
SOURCE_CANON = "Bundled piece: Pachelbel's Canon in D"
SOURCE_UPLOAD = "Uploaded MIDI file"
TRACK_HEADERS = ["track", "name", "programs", "notes", "instrument (blank: the track's own)"]


def offline_environment() -> None:
    """Turn off what would reach the network (call before importing gradio)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("GRADIO_SSR_MODE", "False")


def guarded(fn: Callable) -> Callable:
    """Run a handler; bad input (or a bug) becomes an error message on the page."""
    import gradio as gr

    @functools.wraps(fn)
    def handler(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except SingError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except MemoryError:
            raise gr.Error("out of memory: try a smaller file", print_exception=False) from None
        except Exception as err:  # noqa: BLE001 - one bad request never stops the server
            logger.exception("app: %s failed", fn.__name__)
            raise gr.Error(f"internal error ({type(err).__name__}: {err})",
                           print_exception=False) from None

    return handler


class Files:
    """WAV files written for the page, in a private temporary folder."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder or tempfile.mkdtemp(prefix="sing-app-"))
        self.folder.mkdir(parents=True, exist_ok=True)

    def wav(self, audio: Audio, name: str) -> str:
        """Write ``audio`` as a 16-bit WAV named ``name`` (made file-name safe)."""
        safe = "".join(c if c.isalnum() or c in "-_+." else "_" for c in name) or "audio"
        self.prune()
        folder = self.folder / secrets.token_hex(8)  # each request its own folder
        folder.mkdir()
        path = folder / f"{safe}.wav"
        path.write_bytes(wav_bytes(audio))
        return str(path)


    def prune(self, max_age: float = 3600.0) -> None:
        """Remove what was written more than ``max_age`` seconds ago (Gradio has its copy)."""
        now = time.time()
        for entry in self.folder.iterdir():
            try:
                if now - entry.stat().st_mtime > max_age:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                pass

    def close(self) -> None:
        """Remove the folder."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _theme():
    import gradio as gr

    return gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "Consolas", "monospace"],
    )


def build_app(session: AppSession, listening: ListeningTest | None = None,
              files: Files | None = None):
    """The Gradio Blocks of the page (not launched)."""
    offline_environment()
    import gradio as gr

    files = files or Files()
    choices = [(c.label, c.name) for c in session.instrument_choices()]
    velocities = list(session.velocities)
    default_velocity = 100 if 100 in velocities else velocities[-1]
    vocab = session.vocabulary

    with gr.Blocks(title="SING", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# SING: Symbol-to-Instrument Neural Generator\n"
                    f"{vocab.num_instruments} instruments, pitches {vocab.pitch_min}-"
                    f"{vocab.pitch_max}, {vocab.note_length / vocab.sample_rate:g} s notes at "
                    f"{vocab.sample_rate} Hz.")
        with gr.Tabs():
            with gr.Tab("Play", id="play", elem_id="tab-play"):
                first = _play_tab(session, files, choices, velocities, default_velocity)
            with gr.Tab("Render", id="render", elem_id="tab-render"):
                _render_tab(session, files)
            if _has_export():  # the SoundFont export lives in another branch for now
                with gr.Tab("Export", id="export", elem_id="tab-export"):
                    gr.Markdown("The SoundFont export is installed: use `sing export`.")
            with gr.Tab("Listen", id="listen", elem_id="tab-listen"):
                _listen_tab(listening)
    demo.sing_warm_up = (first, 1.0, None, 0.5, None, 0.5, "C4", default_velocity)
    return demo


def _has_export() -> bool:
    import importlib.util

    return importlib.util.find_spec("sing.export") is not None


def _play_tab(session: AppSession, files: Files, choices: list, velocities: list,
              default_velocity: int) -> str:
    """The Play tab; returns the instrument it shows first."""
    import gradio as gr

    gr.Markdown("Choose an instrument (grouped by family), or blend up to three with weights; "
                "a pitch as a note name (C4 = 60, F#3, Bb2) or a MIDI number.")
    names = [value for _, value in choices]
    first = "keyboard_acoustic_000" if "keyboard_acoustic_000" in names else names[0]
    pairs = []
    with gr.Row():
        for i in range(MAX_BLEND):
            with gr.Column(min_width=220):
                label = "Instrument" if i == 0 else f"Blend with instrument {i + 1} (optional)"
                inst = gr.Dropdown(choices=choices, value=first if i == 0 else None, label=label,
                                   allow_custom_value=True, filterable=True,
                                   elem_id=f"play-instrument-{i}")
                weight = gr.Number(value=1.0 if i == 0 else 0.5, label="Weight", minimum=0,
                                   elem_id=f"play-weight-{i}")
            pairs += [inst, weight]
    with gr.Row():
        pitch = gr.Textbox(value="C4", label="Pitch (note name or MIDI number)",
                           elem_id="play-pitch")
        velocity = gr.Dropdown(choices=velocities, value=default_velocity, label="Velocity",
                               elem_id="play-velocity")
    button = gr.Button("Play", variant="primary", elem_id="play-button")
    with gr.Row():
        audio = gr.Audio(label="Note", type="filepath", autoplay=True, interactive=False,
                         buttons=["download"], scale=2, elem_id="play-audio")
        download = gr.File(label="WAV", interactive=False, scale=1, elem_id="play-wav")
    image = gr.Image(label="Spectrogram (0 Hz to half the sample rate, 80 dB)",
                     interactive=False, buttons=["download"], height=260,
                     elem_id="play-spectrogram")
    samples = gr.State(None)

    @guarded
    def play(*values: Any):
        start = time.perf_counter()
        *blend, pitch_text, velocity_value = values
        parts = [(blend[2 * i], blend[2 * i + 1]) for i in range(MAX_BLEND)]
        spec = session.instrument_spec(parts)
        result = session.play(spec, pitch_text, velocity_value)
        path = files.wav(result, result.title)
        logger.info("play: %s in %.0f ms", result.title, 1000 * (time.perf_counter() - start))
        return path, path, result.samples

    @guarded
    def spectrogram(wav: Any):
        return None if wav is None else spectrogram_image(wav)

    button.click(play, inputs=[*pairs, pitch, velocity], outputs=[audio, download, samples],
                 concurrency_limit=2, api_name="play").then(spectrogram, inputs=samples,
                                                              outputs=image)
    return first


def _render_tab(session: AppSession, files: Files) -> None:
    import gradio as gr

    gr.Markdown("Render a Standard MIDI File (up to "
                f"{session.max_midi_bytes / 1e6:.1f} MB, {session.max_notes} notes, "
                f"{session.max_seconds / 60:.0f} min) or the bundled piece. Each track plays "
                "its General MIDI program's instrument unless you type another (a name, a GM "
                "name or a blend `Violin:0.7,Flute:0.3`) in its row.")
    with gr.Row():
        source = gr.Radio([SOURCE_CANON, SOURCE_UPLOAD], value=SOURCE_CANON, label="Piece",
                          elem_id="render-source")
        upload = gr.File(label="MIDI file", file_types=[".mid", ".midi"], type="filepath",
                         elem_id="render-upload")
    tracks = gr.Dataframe(value=_track_rows(session, None), headers=TRACK_HEADERS,
                          datatype="str", type="array",
                          interactive=True, static_columns=[0, 1, 2, 3], label="Tracks",
                          elem_id="render-tracks")
    button = gr.Button("Render", variant="primary", elem_id="render-button")
    audio = gr.Audio(label="Mix", type="filepath", interactive=False, buttons=["download"],
                     elem_id="render-audio")
    download = gr.File(label="WAV", interactive=False, elem_id="render-wav")

    def midi_of(choice: str, path: str | None) -> str | None:
        if choice == SOURCE_UPLOAD:
            if not path:
                raise SingError("upload a MIDI file first (or pick the bundled piece)")
            return path
        return None

    @guarded
    def list_tracks(choice: str, path: str | None):
        if choice == SOURCE_UPLOAD and not path:
            return []
        return _track_rows(session, midi_of(choice, path))

    @guarded
    def on_upload(path: str | None):
        return (SOURCE_UPLOAD if path else SOURCE_CANON), list_tracks(
            SOURCE_UPLOAD if path else SOURCE_CANON, path)

    @guarded
    def render(choice: str, path: str | None, rows: Any, progress=gr.Progress()):  # noqa: B008
        overrides = {}
        for row in _rows(rows):
            if len(row) >= 5 and str(row[4] or "").strip():
                overrides[int(str(row[0]))] = str(row[4])
        progress(0.0, desc="reading the MIDI file")
        state = {"done": 0}

        def step(n: int, total: int) -> None:
            state["done"] += n
            progress(state["done"] / max(total, 1), desc=f"notes {state['done']}/{total}")

        result = session.render(midi_of(choice, path), overrides, progress=step)
        progress(1.0, desc="writing the WAV")
        out = files.wav(result, result.title)
        return out, out

    upload.change(on_upload, inputs=upload, outputs=[source, tracks])
    source.change(list_tracks, inputs=[source, upload], outputs=tracks)
    button.click(render, inputs=[source, upload, tracks], outputs=[audio, download],
                 concurrency_limit=1)


def _track_rows(session: AppSession, midi: str | None) -> list[list[str]]:
    return [[str(t.track), t.name, " ".join(str(p) for p in t.programs), str(t.notes), ""]
            for t in session.tracks(midi)]


def _rows(rows: Any) -> list[list]:
    if rows is None:
        return []
    if hasattr(rows, "values") and hasattr(rows, "columns"):  # a pandas DataFrame
        return rows.values.tolist()
    return [list(r) for r in rows]


def _listen_tab(listening: ListeningTest | None) -> None:
    import gradio as gr

    if listening is None:
        gr.Markdown("No listening test on this server: start it with "
                    "`sing app --listen-data DATA` (a data folder with `split.json`).",
                    elem_id="listen-status")
        return
    notes = len(listening.held.notes)
    gr.Markdown(
        f"A blind test on {notes} held-out notes of `{listening.held.root.name}`. **ABX**: A "
        "and B are the recording and SING's note, in a random order; say whether X is A or "
        "B. **Preference**: two of SING, the resample reference and the recording; pick the "
        "one that sounds better. Every answer is saved at once: you can stop and come back "
        "with the same listener id.")
    with gr.Row():
        listener = gr.Textbox(label="Listener id (any name or code)", elem_id="listen-id")
        start = gr.Button("Start", variant="primary", elem_id="listen-start")
    status = gr.Markdown("Enter a listener id and press Start.", elem_id="listen-status")
    with gr.Row():
        # plain <audio> players: a waveform picture would let X be matched by eye
        players = [gr.HTML("", visible=False, elem_id=f"listen-{name.lower()}")
                   for name in ("A", "B", "X")]
    with gr.Row():
        answer_a = gr.Button("A", visible=False, elem_id="answer-a")
        answer_b = gr.Button("B", visible=False, elem_id="answer-b")
    state = gr.State(None)
    outputs = [state, status, *players, answer_a, answer_b]

    def show(current: dict) -> list:
        trials: list[Trial] = current["trials"]
        pos, total = current["pos"], current["total"]
        done = total - len(trials) + pos
        if pos >= len(trials):
            hidden = [gr.update(visible=False, value="")] * 3 + [gr.update(visible=False)] * 2
            return [current, f"All {total} trials answered: thank you, "
                    f"{current['listener']}.", *hidden]
        trial = trials[pos]
        sounds = listening.sounds(trial)
        rate = listening.held.sample_rate
        paths = {k: audio_html(k, Audio(v, rate, "")) for k, v in sounds.items()}
        note = f"{trial.family}, pitch {trial.pitch}, velocity {trial.velocity}"
        if trial.kind == "abx":
            text = (f"Trial {done + 1} of {total} · **ABX** ({note}): A and B are the "
                    "recording and SING, in some order. Is X the same as A or as B?")
            labels = ("X is A", "X is B")
        else:
            text = (f"Trial {done + 1} of {total} · **Preference** ({note}): which one "
                    "sounds better?")
            labels = ("A sounds better", "B sounds better")
        players_out = [gr.update(value=paths["A"], visible=True),
                       gr.update(value=paths["B"], visible=True),
                       gr.update(value=paths.get("X", ""), visible="X" in paths)]
        return [current, text, *players_out, gr.update(value=labels[0], visible=True),
                gr.update(value=labels[1], visible=True)]

    @guarded
    def on_start(listener_id: str):
        trials, total = listening.remaining(listener_id)
        current = {"listener": " ".join(str(listener_id).split()), "trials": trials,
                   "pos": 0, "total": total}
        return show(current)

    def on_answer(choice: str) -> Callable:
        @guarded
        def answer(current: dict | None):
            if not current:
                raise SingError("enter a listener id and press Start first")
            if current["pos"] < len(current["trials"]):
                listening.answer(current["listener"], current["trials"][current["pos"]], choice)
                current = dict(current, pos=current["pos"] + 1)
            return show(current)

        answer.__name__ = f"answer_{choice.lower()}"
        return answer

    start.click(on_start, inputs=listener, outputs=outputs, concurrency_limit=4)
    listener.submit(on_start, inputs=listener, outputs=outputs, concurrency_limit=4)
    answer_a.click(on_answer("A"), inputs=state, outputs=outputs, concurrency_limit=4)
    answer_b.click(on_answer("B"), inputs=state, outputs=outputs, concurrency_limit=4)


def audio_html(label: str, audio: Audio) -> str:
    """A labelled ``<audio>`` player holding ``audio`` as a data URL (no waveform shown)."""
    import base64
    import html

    data = base64.b64encode(wav_bytes(audio)).decode("ascii")
    return (f'<div class="sing-player"><b>{html.escape(label)}</b><br>'
            f'<audio controls preload="auto" style="width: 100%" '
            f'src="data:audio/wav;base64,{data}"></audio></div>')


def launch(demo: Any, host: str = "127.0.0.1", port: int = 7860, *, warm: bool = True,
           block: bool = True) -> Any:
    """Serve the page: no share link, no server-side rendering, the system's fonts.

    ``warm``: play one note through the server before anyone clicks (the first request
    through Gradio's queue costs seconds more than the next ones). ``block``: serve until
    stopped (else return at once, the server running in a thread).
    """
    result = demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                         ssr_mode=False, theme=_theme(), show_error=True, footer_links=[],
                         quiet=True, prevent_thread_lock=True,
                         max_file_size=MAX_UPLOAD_BYTES)
    if warm:
        warm_up_server(demo, host, port)
    if block:
        demo.block_thread()
    return result


def warm_up_server(demo: Any, host: str, port: int) -> float | None:
    """Play a note through the running server (``gradio_client``); returns the seconds it
    took, or None (with a warning) when it failed."""
    from gradio_client import Client

    local = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    start = time.perf_counter()
    try:
        client = Client(f"http://{local}:{port}/", verbose=False, download_files=False)
        client.predict(*demo.sing_warm_up, api_name="/play")
    except Exception as err:  # noqa: BLE001 - a failed warm-up only costs the first click
        logger.warning("app: warm-up request failed (%s)", err)
        return None
    seconds = time.perf_counter() - start
    logger.debug("app: warm-up request in %.2f s", seconds)
    return seconds
