"""`sing experiment curve` (issue 8, item 3): presets trained on the same data, their held-out
quality against CPU minutes, plotted and tabled; and the loud-bin metric it reports.

One run of the command (presets ``tiny`` and ``small``, two processes side by side, 8 notes,
one epoch per stage, on 1-s FluidR3 notes) is shared by the tests of this module.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from sing.cli import main
from sing.evaluation.figures import log_spectrogram
from sing.evaluation.metrics import LOUD_THRESHOLD, note_metrics

PRESETS = ("tiny", "small")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def curve_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 one-second notes: piano and violin, pitches 60-65, five velocities, split."""
    from sing.data.soundfont import build_dataset
    from sing.data.split import make_split

    root = tmp_path_factory.mktemp("curve") / "data"
    build_dataset(root, duration=1.0, hold=0.75, programs=(0, 40), pitches=range(60, 66),
                  progress=False)
    make_split(root)
    return root


def _curve_args(data: Path, out: Path, parallel: int) -> list[str]:
    return ["experiment", "curve", "--data", str(data), "--presets", ",".join(PRESETS),
            "--out", str(out), "--epochs", "1,1,1", "--max-notes", "8",
            "--parallel", str(parallel)]


@pytest.fixture(scope="module")
def curve_out(curve_data: Path) -> Path:
    """The experiment folder of one `sing experiment curve` run (two presets in parallel)."""
    out = curve_data.parent / "experiment"
    assert main(_curve_args(curve_data, out, parallel=2)) == 0
    return out


def _result(out: Path) -> dict:
    return json.loads((out / "learning_curve.json").read_text(encoding="utf-8"))


def _test_wavs(data: Path) -> list[np.ndarray]:
    from sing.data.nsynth import NSynthDataset

    test = NSynthDataset(data, split="test")
    return [test[i]["wav"].numpy() for i in range(len(test))]


def test_table_has_one_finite_row_per_preset(curve_out: Path) -> None:
    result = _result(curve_out)
    assert list(result["runs"]) == list(PRESETS)
    tiny, small = (result["runs"][p] for p in PRESETS)
    assert 0 < tiny["parameters"] < small["parameters"]
    for run in (tiny, small):
        assert all(run["cpu_min"][s] > 0 for s in ("ae", "seq", "sing"))
        assert math.isclose(sum(run["cpu_min"].values()), run["cpu_min_total"], rel_tol=1e-9)
        assert 0 < run["final_valid_spectral_l1"] < 1
        test = run["heldout"]["sing"]
        assert 0 < test["spectral_l1"] < 1 and 0 < test["loud_l1"] < 10
        assert 0 <= test["pitch_accuracy"] <= 1
        assert test["notes"] == result["test_notes"] > 0
    refs = result["references"]
    assert refs["ground_truth"]["spectral_l1"] == 0 and refs["ground_truth"]["loud_l1"] == 0
    assert refs["ground_truth"]["pitch_accuracy"] > 0.5
    # resampling a neighbouring note beats silence on both distances
    assert refs["resample"]["spectral_l1"] < refs["silence"]["spectral_l1"] / 3
    assert refs["resample"]["loud_l1"] < refs["silence"]["loud_l1"] / 3

    table = (curve_out / "learning_curve.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]  # no header
    assert [r.split(" | ")[0] for r in rows] == [
        "| SING `tiny`", "| SING `small`", "| resample (nearest training pitch)",
        "| ground truth", "| silence (all-zero output)"]
    for row in rows[:2]:  # every cell of a preset's row is a number
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert len(cells) == 9 and "-" not in cells and "nan" not in row
    assert f"{tiny['heldout']['sing']['spectral_l1']:.4g}" in rows[0]


def test_silence_reference_matches_numpy(curve_out: Path, curve_data: Path) -> None:
    """The silence row, recomputed with numpy's STFT: spectral L1 is the mean log-power of
    the truth, the loud-bin error the mean over its bins above the threshold."""
    specs = [log_spectrogram(w) for w in _test_wavs(curve_data)]
    silence = _result(curve_out)["references"]["silence"]
    assert silence["spectral_l1"] == pytest.approx(np.mean([s.mean() for s in specs]), rel=1e-4)
    loud = np.mean([s[s > LOUD_THRESHOLD].mean() for s in specs])
    assert silence["loud_l1"] == pytest.approx(loud, rel=1e-4)
    assert silence["loud_l1"] > 5 * silence["spectral_l1"]  # the harmonics are a few bins


def test_curve_x_is_cumulative_cpu_time(curve_out: Path) -> None:
    from sing.training.metrics import read_metrics

    for preset, run in _result(curve_out)["runs"].items():
        points = run["points"]
        assert [p["stage"] for p in points] == ["ae", "seq", "sing"]
        xs = [p["cpu_min"] for p in points]
        assert all(a < b for a, b in zip(xs, xs[1:], strict=False)), xs
        train = [r for r in read_metrics(curve_out / preset) if r.get("split") == "train"]
        assert xs == pytest.approx([r["cpu_s"] / 60 for r in train])
        valid = [r["spectral_l1"] for r in read_metrics(curve_out / preset)
                 if r.get("split") == "valid"]
        assert [p["valid_spectral_l1"] for p in points] == pytest.approx(valid)
        assert run["final_valid_spectral_l1"] == pytest.approx(valid[-1])


def test_png_is_a_real_picture(curve_out: Path) -> None:
    import matplotlib.image

    png = curve_out / "learning_curve.png"
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 20_000
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 800
    assert float(pixels[..., :3].std()) > 0.05  # drawn on, not a blank canvas


def test_rerun_reuses_runs_and_evaluations(curve_out: Path, curve_data: Path) -> None:
    files = [curve_out / p / name for p in PRESETS
             for name in ("model.safetensors", "autoencoder.safetensors", "checkpoint.pt",
                          "heldout.json")]
    before = {f: f.stat().st_mtime_ns for f in files}
    first = _result(curve_out)
    assert main(_curve_args(curve_data, curve_out, parallel=1)) == 0
    assert {f: f.stat().st_mtime_ns for f in files} == before  # nothing trained again
    again = _result(curve_out)
    assert again["runs"] == first["runs"] and again["references"] == first["references"]
    assert again["parallel"] == 1


@pytest.mark.parametrize("presets, message", [
    ("", "--presets: no preset given"),
    (" , ", "--presets: no preset given"),
    ("tiny,huge", "--presets: unknown preset 'huge'"),
    ("tiny,tiny", "--presets: preset 'tiny' given twice"),
])
def test_bad_presets_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture,
                                     presets: str, message: str) -> None:
    out = tmp_path / "out"
    code = main(["experiment", "curve", "--data", str(tmp_path), "--presets", presets,
                 "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith(f"sing: error: {message}") and "\n" not in err, err
    assert not out.exists()


def test_missing_data_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["experiment", "curve", "--data", str(tmp_path / "nowhere"), "--presets",
                 "tiny", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and err.endswith("no such data set folder"), err


def test_loud_bin_error_against_numpy() -> None:
    """Loud-bin L1 = mean |log-power difference| over the truth's bins above 1 only."""
    t = np.arange(16000) / 16000
    truth = 0.5 * np.sin(2 * np.pi * 440 * t)
    estimate = 0.1 * np.sin(2 * np.pi * 440 * t) + 0.01 * np.sin(2 * np.pi * 3000 * t)
    spec_t, spec_e = log_spectrogram(truth), log_spectrogram(estimate)
    loud = spec_t > LOUD_THRESHOLD
    assert 0 < loud.mean() < 0.1  # a few bins of a pure tone
    got = note_metrics(torch.tensor(np.stack([estimate, truth]), dtype=torch.float32),
                       torch.tensor(np.stack([truth, truth]), dtype=torch.float32))
    assert float(got["loud_l1"][0]) == pytest.approx(np.abs(spec_e - spec_t)[loud].mean(),
                                                     rel=1e-4)
    assert float(got["loud_l1"][1]) == 0.0
    quiet = note_metrics(torch.zeros(1, 16000), torch.full((1, 16000), 1e-4))
    assert math.isnan(float(quiet["loud_l1"][0]))  # no loud bin: skipped by averages


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_training_children_stop_when_the_parent_is_killed(tmp_path: Path) -> None:
    """A killed `sing experiment curve` must not leave its child runs training as orphans."""
    ready = tmp_path / "ready"
    child = ("from sing.recipes.learning_curve import _stop_with_parent; import pathlib, time; "
             f"_stop_with_parent(); pathlib.Path({str(ready)!r}).touch(); time.sleep(60)")
    parent = (f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', "
              f"{child!r}]); print(p.pid, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    pid = int(proc.stdout.readline())
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:  # its death signal is set
        time.sleep(0.05)
    assert ready.exists() and os.path.exists(f"/proc/{pid}")
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(")")[-1].split()[0] == "Z":
                    break  # exited, waiting for init to reap it
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail("the child outlived its killed parent")
