"""Shared fixtures for every test directory.

``gm_dataset``: a small real data set rendered once per session from the FluidR3 GM SoundFont:
3 instruments of different families (piano = keyboard, violin = string, flute = flute),
8 pitches around C4 (57-64), all 5 NSynth velocities, 4 s notes at 16 kHz: 120 notes, with
``split.json`` made (every instrument has pitches in train and one pitch, all velocities, in
each of valid and test: 90 / 15 / 15 notes). Read-only: copy it before changing it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from sing.data.vocabulary import Vocabulary

GM_PROGRAMS = (0, 40, 73)
GM_PITCHES = tuple(range(57, 65))


@pytest.fixture(scope="session", autouse=True)
def sing_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's own cache folder (``SING_CACHE_DIR``: int8 plans), never the user's;
    subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("sing-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SING_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def gm_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a small FluidR3 jsonwav folder (examples.json, audio/, split.json)."""
    from sing.data.soundfont import build_dataset
    from sing.data.split import make_split

    root = tmp_path_factory.mktemp("gm") / "gm_dataset"
    build_dataset(root, programs=GM_PROGRAMS, pitches=GM_PITCHES, progress=False)
    make_split(root)
    return root


@pytest.fixture
def vocabulary() -> Vocabulary:
    """Three instruments, NSynth velocities, a piano's pitch range, 1-second notes."""
    return Vocabulary(
        instruments=("guitar_acoustic_009", "brass_acoustic_001", "flute_synthetic_000"),
        instrument_ids=(9, 1, 0),
        families=("guitar", "brass", "flute"),
        pitch_min=21,
        pitch_max=108,
        note_length=16000,
    )


@pytest.fixture
def tiny_model_file(tmp_path: Path, vocabulary: Vocabulary) -> Path:
    """An untrained ``tiny`` SING model saved by the code."""
    from sing.models import SING, SingConfig
    from sing.models.io import save_model

    torch.manual_seed(0)
    model = SING(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary)
    return save_model(tmp_path / "tiny.safetensors", model, recipe={"stage": "untrained"})


@pytest.fixture
def one_intra_op_thread() -> Iterator[None]:
    """One intra-op thread for a test (restored afterwards): on a loaded 2-core machine
    PyTorch's LSTM with 2 spinning threads can be 1000x slower; one thread keeps the tests fast
    and deterministic. Directories and modules turn it on for all their tests."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def reference_run(gm_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted tiny run of all three stages (2 epochs each), checkpoint every step."""
    from train_helpers import run_cli, train_args

    out = tmp_path_factory.mktemp("train") / "reference"
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert run_cli(*train_args(gm_dataset, out, "--checkpoint-every", "0")) == 0
    finally:
        torch.set_num_threads(before)
    return out


@pytest.fixture
def holder() -> Iterator:
    """Another process holding the lock of a target: ``holder(target) -> pid`` (killed at
    the end of the test)."""
    procs: list[subprocess.Popen] = []

    def start(target: Path) -> int:
        code = ("import sys, time\nfrom sing.utils.lock import exclusive\n"
                "with exclusive(sys.argv[1]):\n    print('locked', flush=True)\n"
                "    time.sleep(120)\n")
        proc = subprocess.Popen([sys.executable, "-c", code, str(target)],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc.pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
