"""The page's handlers called as Gradio calls them (no server): bad input is a gr.Error with
the problem, and the same handler serves the next request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def handlers(app_session, listen_data: Path, tmp_path_factory: pytest.TempPathFactory):
    from sing.app.ui import offline_environment

    offline_environment()
    from sing.app.listening import AnswerLog, HeldOutNotes, ListeningTest
    from sing.app.ui import Files, build_app

    answers = tmp_path_factory.mktemp("ui") / "answers.csv"
    listening = ListeningTest(HeldOutNotes(app_session.model, listen_data), AnswerLog(answers))
    files = Files(tmp_path_factory.mktemp("files"))
    demo = build_app(app_session, listening, files)
    out = {f.name: f.fn for f in demo.fns.values()}
    out["answers"] = answers
    return out


def _play(handlers, *blend, pitch="C4", velocity=100):
    values = list(blend) + [None, 0.5] * ((6 - len(blend)) // 2)
    return handlers["play"](*values, pitch, velocity)


def test_play_then_bad_input_then_play(handlers) -> None:
    import gradio as gr
    import soundfile as sf

    path, download, samples = _play(handlers, "keyboard_acoustic_000", 1.0)
    assert path == download and path.endswith("keyboard_acoustic_000-060-100.wav")
    wav, rate = sf.read(path)
    assert rate == 16000 and wav.shape == (16000,) and np.abs(wav).max() > 0.01
    image = handlers["spectrogram"](samples)
    assert image.shape[2] == 3 and image.dtype == np.uint8
    for blend, message in [
        (("Violin", 0.0, "Flute", 0.0), "instrument blend weights sum to 0"),
        (("Violin", 1.0, "kazoo", 1.0), "unknown instrument 'kazoo'"),
        (("Violin", float("nan"), "Flute", 1.0), "must be >= 0"),
    ]:
        with pytest.raises(gr.Error, match=message):
            _play(handlers, *blend)
    path, _, _ = _play(handlers, "Violin", 0.7, "Flute", 0.3, pitch="A4")
    assert path.endswith("string_acoustic_040_70+flute_acoustic_073_30-069-100.wav")


def test_render_refuses_bad_files(handlers, tmp_path: Path) -> None:
    import gradio as gr

    from sing.app.ui import SOURCE_UPLOAD

    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(gr.Error, match="junk.mid: not a Standard MIDI File"):
        handlers["render"](SOURCE_UPLOAD, str(junk), [], progress=lambda *a, **k: None)
    huge = tmp_path / "huge.mid"
    huge.write_bytes(b"MThd" + b"\x00" * 1_500_000)
    with pytest.raises(gr.Error, match="huge.mid: the MIDI file is too large"):
        handlers["render"](SOURCE_UPLOAD, str(huge), [], progress=lambda *a, **k: None)
    with pytest.raises(gr.Error, match="upload a MIDI file first"):
        handlers["render"](SOURCE_UPLOAD, None, [], progress=lambda *a, **k: None)
    rows = handlers["list_tracks"]("Bundled piece: Pachelbel's Canon in D", None)
    assert [r[2] for r in rows] == ["0", "40", "73", "11", "24"]


def test_guarded_turns_bugs_into_messages() -> None:
    import gradio as gr

    from sing.app.ui import guarded
    from sing.errors import SingError

    @guarded
    def bad_input():
        raise SingError("weights sum to 0", "page")

    @guarded
    def bug():
        raise ZeroDivisionError("division by zero")

    with pytest.raises(gr.Error, match="page: weights sum to 0"):
        bad_input()
    with pytest.raises(gr.Error, match=r"internal error \(ZeroDivisionError: division by zero"):
        bug()


def test_listen_handlers_write_each_answer(handlers) -> None:
    import gradio as gr

    state, status, a, b, x, button_a, button_b = handlers["on_start"]("  ann  ")
    assert "Trial 1 of 8" in status and state["listener"] == "ann"
    assert "data:audio/wav;base64," in a["value"]
    with pytest.raises(gr.Error, match="listener id"):
        handlers["on_start"](" ")
    with pytest.raises(gr.Error, match="press Start first"):
        handlers["answer_a"](None)
    state = handlers["answer_b"](state)[0]
    lines = handlers["answers"].read_text().splitlines()
    assert len(lines) == 2 and ",ann," in lines[1]
    assert state["pos"] == 1
