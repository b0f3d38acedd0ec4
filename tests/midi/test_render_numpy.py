"""``sing render`` in float32 on the CPU runs the NumPy network in a process that has not
imported torch: no torch is imported, and the WAV is the torch path's to the last bit or so."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from midi_helpers import write_midi

from sing.cli import main

_RUN = ("import sys; from sing.cli import main; rc = main({argv!r}); "
        "print(rc, 'torch' in sys.modules)")


def _fresh(argv: list[str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", _RUN.format(argv=argv)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_fresh_render_imports_no_torch_and_equals_the_torch_path(gm_model_file: Path,
                                                                 tmp_path: Path) -> None:
    song = write_midi(tmp_path / "song.mid", [
        (0, 0, [(0, 0.5, 60, 100), (0.5, 3, 64, 70), (1, 0.25, 67, 120)]),
        (1, 40, [(0, 2, 55, 90), (2, 0.5, 57, 40)]),
    ])
    fresh, here = tmp_path / "fresh.wav", tmp_path / "torch.wav"
    base = ["render", str(song), "--model", str(gm_model_file)]
    assert _fresh([*base, "--out", str(fresh)]) == ["0", "False"]
    # this process has imported torch: the same command takes the torch fast path
    assert "torch" in sys.modules
    assert main([*base, "--out", str(here)]) == 0
    a, rate = sf.read(fresh, dtype="int16")
    b, _ = sf.read(here, dtype="int16")
    assert rate == 16000 and a.shape == b.shape and np.abs(b).max() > 10000
    assert np.abs(a.astype(np.int32) - b).max() <= 1
    # other dtypes and devices still go through torch
    assert _fresh([*base, "--out", str(tmp_path / "int8.wav"), "--dtype", "int8"]) == [
        "0", "True"]


def test_a_named_command_registers_only_its_module() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from sing.cli import build_parser; "
         "build_parser(['-v', 'render', 'x.mid']); "
         "print(sorted(m for m in sys.modules if m.startswith('sing.cli.')))"],
        capture_output=True, text=True, timeout=120, check=True)
    loaded = ast.literal_eval(out.stdout)  # a printed list of module names
    assert "sing.cli.render" in loaded and "sing.cli.train" not in loaded
