"""The music benchmark (benchmarks/music.py) on one short piece, and its pieces."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sing.midi.pieces.music import PIECES, build_piece, piece
from sing.midi.reader import read_midi

ROOT = Path(__file__).resolve().parents[2]
TEACHER = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
PEER = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def test_the_pieces_cover_the_families_and_last_20_to_60_s():
    kinds = {p.kind for p in PIECES}
    assert {"piano", "string quartet", "mixed families"} <= kinds
    assert kinds & {"wind chorale", "brass chorale"}
    for spec in PIECES:
        score = read_midi(spec.path)
        assert 20.0 <= score.length <= 60.0, spec.name
        assert score.programs == sorted({v.program for v in spec.voices}), spec.name
        assert len(score.notes) > 100
    mixed = piece("corelli-op3no1-mixed")
    from sing.data.gm import GM_PROGRAMS

    assert len({GM_PROGRAMS[v.program].family for v in mixed.voices}) == 3


def test_a_piece_rebuilt_from_the_corpus_is_the_checked_in_file(tmp_path):
    pytest.importorskip("music21")
    spec = piece("bach-bwv66.6-winds")
    assert build_piece(spec, tmp_path / "x.mid").read_bytes() == spec.path.read_bytes()


@pytest.mark.skipif(shutil.which("fluidsynth") is None or not TEACHER.is_file()
                    or not PEER.is_file(), reason="needs fluidsynth, FluidR3_GM and TimGM6mb")
def test_music_benchmark_on_one_short_piece(tmp_path):
    from sing.pretrained import SHIPPED_MODEL

    if not SHIPPED_MODEL.is_file():
        pytest.skip("no shipped model in this install")
    out = tmp_path / "music"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "music.py"), "--quick", "--out", str(out),
         "--model", str(SHIPPED_MODEL)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "## Mean over 1 piece(s)" in result.stdout
    record = json.loads((out / "music.json").read_text())
    rows = record["pieces"]["bach-bwv66.6-winds"]
    teacher, peer, sing = rows["fluidr3"], rows["peer"], rows["sing"]
    assert teacher["log_mel"] == pytest.approx(0.0, abs=1e-9)  # the teacher against itself
    assert teacher["onset_f1_vs_teacher"] == pytest.approx(1.0)
    assert teacher["chroma"] > 0.8 and peer["chroma"] > 0.8
    assert peer["log_mel"] > 0.3
    assert teacher["noise_floor"] < 1e-3
    for key in ("chroma", "onset_f1", "log_mel", "buzz_db", "noise_floor", "speed"):
        assert sing[key] is not None and math.isfinite(sing[key]), key
    assert 0.3 < sing["chroma"] <= 1.0
    assert 0.0 <= sing["noise_floor"] <= 1.0
    assert rows["_piece"]["seconds"] == pytest.approx(10.0, abs=0.01)
    for system in ("fluidr3", "peer", "sing"):
        assert (out / f"bach-bwv66.6-winds.{system}.wav").is_file()
    assert "sing render" in (out / "music.md").read_text()
