"""The int8 plan cache (sing.models.int8_plan_cache): a plan is measured once per model, CPU
and settings, read back in later processes, never used for other weights or settings, and a
broken or unwritable cache only costs a new measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_fast import NOTES, make_model

from sing.models.fast import FastSING
from sing.models.int8 import int8_available
from sing.models.int8_plan import plan_int8
from sing.models.int8_plan_cache import PLAN_FORMAT, cache_dir, cached_plan_int8, plan_key

pytestmark = pytest.mark.skipif(not int8_available(), reason="no fbgemm / x86 int8 engine")

BUDGET, NOTES_, STEPS = 0.0075, 8, 16  # a cheap calibration: what is tested is the cache


def plan(model, folder: Path, **kw):
    return cached_plan_int8(model, budget=kw.pop("budget", BUDGET), notes=NOTES_, steps=STEPS,
                            directory=folder, **kw)


def key_path(model, folder: Path, budget: float = BUDGET) -> Path:
    return folder / "int8-plans" / f"{plan_key(model, budget, NOTES_, STEPS)}.json"


def test_measured_once_then_read(tmp_path: Path) -> None:
    model = make_model("tiny")
    first = plan(model, tmp_path)
    want = plan_int8(model, budget=BUDGET, notes=NOTES_, steps=STEPS)
    assert (first.parts, first.error) == (want.parts, want.error)
    path = key_path(model, tmp_path)
    stored = json.loads(path.read_text())
    assert stored["format"] == PLAN_FORMAT and tuple(stored["parts"]) == want.parts
    # What is read is the file: a different (valid) plan stored there comes back.
    path.write_text(json.dumps({"format": PLAN_FORMAT, "parts": ["output"], "error": 0.001,
                                "alone": {"output": 0.001}}))
    again = plan(model, tmp_path)
    assert again.parts == ("output",) and again.error == 0.001
    assert again.copy.int8_parts == {"output"}
    expected = FastSING(model, torch.int8, int8_parts=("output",))(*NOTES)
    assert torch.equal(again.copy(*NOTES), expected)


def test_key_covers_weights_settings_and_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_model("tiny")
    base = plan_key(model, BUDGET, NOTES_, STEPS)
    assert plan_key(make_model("tiny"), BUDGET, NOTES_, STEPS) == base  # same weights
    assert plan_key(model, 0.005, NOTES_, STEPS) != base
    assert plan_key(model, BUDGET, NOTES_ + 1, STEPS) != base
    assert plan_key(model, BUDGET, NOTES_, STEPS + 1) != base
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    isa = plan_key(model, BUDGET, NOTES_, STEPS)
    assert isa != base
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    with torch.no_grad():  # one weight, one step of float32 rounding
        w = model.decoder.layers[-1].weight
        w.view(-1)[5] = torch.nextafter(w.view(-1)[5], torch.tensor(float("inf")))
    assert plan_key(model, BUDGET, NOTES_, STEPS) not in (base, isa)


@pytest.mark.parametrize("content", [
    "not json {",
    b"\xff\xfe\x00",
    json.dumps([1, 2]),
    json.dumps({"format": PLAN_FORMAT + 1, "parts": [], "error": 0.0, "alone": {}}),
    json.dumps({"format": PLAN_FORMAT, "parts": ["decoder"], "error": 0.0, "alone": {}}),
    json.dumps({"format": PLAN_FORMAT, "parts": ["output", "output"], "error": 0.0,
                "alone": {}}),
    json.dumps({"format": PLAN_FORMAT, "parts": ["output"], "error": 0.5, "alone": {}}),
    json.dumps({"format": PLAN_FORMAT, "parts": ["output"], "error": "0.001", "alone": {}}),
    '{"format": 1, "parts": ["output"], "error": NaN, "alone": {}}',
    json.dumps({"format": PLAN_FORMAT, "parts": ["output"], "error": 0.001,
                "alone": {"output": -1}}),
    json.dumps({"format": PLAN_FORMAT, "parts": ["output"], "error": 0.001,
                "alone": {"output": 0.001}, "padding": "x" * 100_000}),
])
def test_broken_file_is_measured_again_and_replaced(tmp_path: Path, content) -> None:
    model = make_model("tiny")
    want = plan_int8(model, budget=BUDGET, notes=NOTES_, steps=STEPS)
    path = key_path(model, tmp_path)
    path.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    got = plan(model, tmp_path)
    assert (got.parts, got.error) == (want.parts, want.error)
    assert tuple(json.loads(path.read_text())["parts"]) == want.parts


def test_writing_a_plan_removes_temporaries_of_killed_writers(tmp_path: Path) -> None:
    folder = tmp_path / "int8-plans"
    folder.mkdir()
    old = folder / ".tmp-0123abcd.json.k2j4h5g6"  # as atomic_write names them
    young = folder / ".tmp-4567ef01.json.a1b2c3d4"  # maybe another process writing now
    other = folder / "notes.txt"  # not ours
    for f in (old, young, other):
        f.write_text("{")
    past = old.stat().st_mtime - 3600
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    plan(make_model("tiny"), tmp_path)
    assert not old.exists()
    assert young.exists() and other.exists()
    assert len(list(folder.glob("*.json"))) == 1  # the plan itself


def test_unwritable_cache_still_plans(tmp_path: Path) -> None:
    model = make_model("tiny")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    got = plan(model, blocker)
    assert got.parts == plan_int8(model, budget=BUDGET, notes=NOTES_, steps=STEPS).parts
    assert blocker.read_text().startswith("a file")


def test_cache_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SING_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.setenv("SING_CACHE_DIR", "")
    assert cache_dir() is None
    monkeypatch.delenv("SING_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "sing"


def test_generate_processes_share_the_plan(tmp_path: Path, tiny_model_file: Path) -> None:
    """Two `sing generate --dtype int8` processes: the first stores the plan, the second reads
    it (its debug log says so) and writes the same samples."""
    cache = tmp_path / "cache"
    outs = []
    for run in range(2):
        out = tmp_path / f"out{run}"
        proc = subprocess.run(
            [sys.executable, "-m", "sing", "-v", "generate", "--model", str(tiny_model_file),
             "guitar_acoustic_009-060-100", "--dtype", "int8", "--out", str(out)],
            capture_output=True, text=True, env={**os.environ, "SING_CACHE_DIR": str(cache)})
        assert proc.returncode == 0, proc.stderr
        outs.append((proc.stderr, sorted(out.glob("*.wav"))))
    assert len(list((cache / "int8-plans").glob("*.json"))) == 1
    assert "from the cache" not in outs[0][0] and "from the cache" in outs[1][0]
    (a,), (b,) = outs[0][1], outs[1][1]
    assert a.read_bytes() == b.read_bytes()

