"""The report's "Music" section: a piece rendered by render_file, played in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from midi_helpers import write_midi

from sing.errors import SingError
from sing.evaluation.evaluator import Evaluation
from sing.evaluation.listening_page import write_report
from sing.midi.render import render_file


def test_report_plays_the_rendered_piece(gm_model_file: Path, tmp_path: Path):
    from sing.evaluation.browser import check_page

    midi = write_midi(tmp_path / "duet.mid", [(0, 0, [(b, 1, 60 + b, 100) for b in range(8)]),
                                               (1, 40, [(0, 8, 48, 80)])])
    wav = render_file(gm_model_file, midi, tmp_path / "duet.wav")
    assert wav == tmp_path / "duet.wav" and sf.info(wav).duration == pytest.approx(4.5, abs=0.02)
    evaluation = Evaluation(records=[], results={"systems": {}})
    solo = write_midi(tmp_path / "solo.mid", [(0, 0, [(0, 2, 60, 100)])])
    solo_wav = render_file(gm_model_file, solo, tmp_path / "solo.wav")
    index = write_report(tmp_path / "report", evaluation, 16000,
                         pieces=[("A duet", wav), ("A solo", solo_wav)])
    page = index.read_text(encoding="utf-8")
    assert page.count("<h2>Music</h2>") == 1 and page.count("<audio") == 2
    assert page.index("A duet (4.5 s)") < page.index("A solo (")
    assert (tmp_path / "report" / "audio" / "piece-0.wav").read_bytes() == wav.read_bytes()
    assert (tmp_path / "report" / "audio" / "piece-1.wav").read_bytes() == solo_wav.read_bytes()
    result = check_page(index)
    assert result.console_errors == [] and result.failed_media == []
    durations = [m["duration"] for m in result.media if m["kind"] == "audio"]
    assert durations[0] == pytest.approx(4.5, abs=0.05)
    assert durations[1] == pytest.approx(sf.info(solo_wav).duration, abs=0.05)
    # the check can fail: a piece that does not load is caught
    broken = tmp_path / "broken.html"
    broken.write_text(page.replace('src="data:audio/wav', 'src="missing.wav" data-x="', 1),
                      encoding="utf-8")
    assert [m["kind"] for m in check_page(broken).failed_media] == ["audio"]


def test_report_refuses_a_piece_that_is_not_a_wav(tmp_path: Path):
    bad = tmp_path / "piece.wav"
    bad.write_text("not audio")
    evaluation = Evaluation(records=[], results={"systems": {}})
    with pytest.raises(SingError, match="not a WAV file"):
        write_report(tmp_path / "report", evaluation, 16000, pieces=[("bad", bad)])
    assert not (tmp_path / "report").exists()
