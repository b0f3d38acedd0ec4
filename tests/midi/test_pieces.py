"""The bundled piece: written by our code, deterministic, multi-track, rendered end to end."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from sing.cli import main
from sing.midi.pieces import CANON, bundled_piece, write_canon
from sing.midi.reader import read_midi


def test_bundled_piece_is_what_the_code_writes(tmp_path: Path):
    assert bundled_piece() == CANON and CANON.is_file()
    again = write_canon(tmp_path / "canon.mid")
    assert again.read_bytes() == CANON.read_bytes()
    score = read_midi(CANON)
    assert 30 <= score.length <= 60 and score.length == 52.5
    assert score.programs == [0, 11, 24, 40, 73] and score.tracks == 6
    assert len({n.track for n in score.notes}) == 5 and score.drum_notes == 0
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"midi/pieces/*.mid"' in pyproject


def test_long_version_for_benchmarks(tmp_path: Path):
    score = read_midi(write_canon(tmp_path / "long.mid", cycles=13))
    assert score.length >= 120 and len({n.program for n in score.notes}) == 5


def test_render_the_bundled_piece(gm_model_file: Path, tmp_path: Path, caplog):
    out = tmp_path / "canon.wav"
    assert main(["render", str(CANON), "--out", str(out), "--model", str(gm_model_file)]) == 0
    # the tiny model has piano, violin and flute: the guitar and the vibraphone (no instrument
    # of their families) are played by the nearest program
    assert "program 11 (Vibraphone) is not in this model: keyboard_acoustic_000 plays it" in (
        caplog.text)
    assert "program 24 (Acoustic Guitar (nylon)) is not in this model: string_acoustic_040" in (
        caplog.text)
    info = sf.info(out)
    # the last chord ends at 52.5 s, then a 0.5-s release (read within a period of the hold)
    assert info.samplerate == 16000 and abs(info.duration - 53.0) < 0.02
