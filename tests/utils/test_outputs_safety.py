"""Outputs under stress (issue 10, items 1, 3, 14, 15): a full disk under a memory map is one
line (never SIGBUS) and leaves nothing; killed runs' temporaries are reported and removed, never
a live process's; two processes never write one output; --force only replaces our data sets;
a damaged frames cache is reported in one line and rebuilt."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from dataset_helpers import data_copy

from sing.cli import main
from sing.errors import SingError


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.strip().splitlines() if x.startswith("sing: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _fake_disk(monkeypatch, free: int) -> None:
    import sing.utils.diskspace as diskspace

    monkeypatch.setattr(diskspace, "statvfs",
                        lambda path: types.SimpleNamespace(f_bavail=free // 4096, f_frsize=4096))




# -- a full disk --------

def test_cache_on_a_full_disk_is_one_line(gm_dataset, tmp_path, capsys, monkeypatch):
    data = data_copy(gm_dataset, tmp_path / "data")
    _fake_disk(monkeypatch, 400_000)
    assert main(["dataset", "cache", str(data), "--no-progress"]) == 2
    assert _one_line(capsys) == (
        f"sing: error: {data}: not enough free space for the cache (120 notes): it needs "
        "15.4 MB, 397.3 kB free")
    assert sorted(p.name for p in data.iterdir()) == [
        "audio", "build.json", "examples.json", "split.json"]


def test_cache_beyond_a_file_size_limit_is_one_line(gm_dataset, tmp_path):
    """A real allocation failure, in a real process: never SIGBUS, nothing left behind."""
    data = data_copy(gm_dataset, tmp_path / "data")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))

    proc = subprocess.run([sys.executable, "-m", "sing", "dataset", "cache", str(data),
                           "--no-progress"], capture_output=True, text=True, timeout=120,
                          preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (f"sing: error: {data / 'sing-cache'}: file too large (file system "
                           "or process limit)\n")
    assert not [p for p in data.iterdir() if p.name.startswith(".") or p.name == "sing-cache"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (needs mount rights: skipped without them)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_cache_on_a_really_full_disk(gm_dataset, small_disk):
    data = data_copy(gm_dataset, small_disk / "data")
    sing = [sys.executable, "-m", "sing", "dataset", "cache", str(data), "--no-progress"]
    proc = subprocess.run(sing, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"sing: error: {data}: not enough free space for the cache")
    # the free-space check lied (another process filled the disk meanwhile): the blocks are
    # reserved before the memory map is written, so it is still one line, not SIGBUS (-7)
    code = ("import types, sys\nimport sing.utils.diskspace as d\n"
            "d.statvfs = lambda p: types.SimpleNamespace(f_bavail=10**9, f_frsize=4096)\n"
            "from sing.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", code, "dataset", "cache", str(data),
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.returncode
    assert proc.stderr == (
        f"sing: error: {data / 'sing-cache' / 'audio.npy'}: no space left on device\n")
    assert sorted(p.name for p in data.iterdir()) == [
        "audio", "build.json", "examples.json", "split.json"]


# -- leftovers of killed processes --------

def test_check_reports_leftovers_and_the_next_run_removes_its_own(gm_dataset, tmp_path,
                                                                  capsys):
    data = data_copy(gm_dataset, tmp_path / "data")
    stale_cache = data / ".tmp-sing-cache.abcd1234"
    stale_cache.mkdir()
    (stale_cache / "audio.npy").write_bytes(bytes(3000))
    stale_split = data / ".tmp-split.json.x_9y8z7w"
    stale_split.write_text("{")
    (data / ".tmp-not-ours").mkdir()  # not one of our names: left alone, not reported
    assert main(["dataset", "check", str(data), "--no-progress"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{stale_cache}: left by an interrupted sing process (3.0 kB); rerunning that "
        "command removes it, or delete it",
        f"{stale_split}: left by an interrupted sing process (1 B); rerunning that command "
        "removes it, or delete it",
    ]
    assert main(["dataset", "cache", str(data), "--no-progress"]) == 0
    assert not stale_cache.exists() and stale_split.exists() and (data / ".tmp-not-ours").exists()


def test_a_live_processs_temporaries_are_not_touched(gm_dataset, tmp_path, capsys, holder):
    data = data_copy(gm_dataset, tmp_path / "data")
    live = data / ".tmp-sing-cache.abcd1234"
    live.mkdir()
    pid = holder(data / "sing-cache")
    assert main(["dataset", "check", str(data), "--no-progress"]) == 0  # in use, not stale
    capsys.readouterr()
    assert main(["dataset", "cache", str(data), "--no-progress"]) == 2
    assert _one_line(capsys) == (
        f"sing: error: {data / 'sing-cache'}: another sing process (pid {pid}) is writing it "
        "now; wait for it to finish, or choose another output")
    assert live.is_dir() and not (data / "sing-cache").exists()


# -- two processes, one output --------

def test_two_builds_into_one_folder(tmp_path, capsys, holder):
    out = tmp_path / "ds"
    live = tmp_path / ".tmp-ds.abcd1234"
    live.mkdir()
    pid = holder(out)
    assert main(["dataset", "build", "--programs", "0", "--pitches", "60", "--velocities",
                 "100", "--no-progress", "--out", str(out)]) == 2
    assert _one_line(capsys) == (
        f"sing: error: {out}: another sing process (pid {pid}) is writing it now; wait for it "
        "to finish, or choose another output")
    assert live.is_dir() and not out.exists()


def test_two_trainings_into_one_run_folder(gm_dataset, tmp_path, capsys, holder):
    out = tmp_path / "run"
    pid = holder(out)
    assert main(["train", "--data", str(gm_dataset), "--out", str(out), "--preset", "tiny",
                 "--no-progress"]) == 2
    assert _one_line(capsys) == (
        f"sing: error: {out}: another sing process (pid {pid}) is writing it now; wait for it "
        "to finish, or choose another output")
    assert not out.exists()


def test_lock_is_released_and_its_file_removed(tmp_path):
    from sing.utils.lock import exclusive, is_locked, lock_path

    target = tmp_path / "x"
    with exclusive(target):
        assert lock_path(target).read_text() == f"{os.getpid()}\n"
        with exclusive(target):  # the same process may nest it
            pass
        assert lock_path(target).exists()
    assert not lock_path(target).exists() and not is_locked(target)


# -- --force --------

def test_force_replaces_only_our_data_sets(tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert main(["dataset", "build", "--programs", "0", "--pitches", "60", "--velocities",
                 "100", "--no-progress", "--force", "--out", str(out)]) == 2
    assert _one_line(capsys) == (
        f"sing: error: {out}: is not a data set built by `sing dataset build` (no examples.json "
        "and build.json): --force replaces only those, or an empty folder; remove it yourself "
        "or choose another --out")
    assert (out / "thesis.tex").read_text() == "years of work"
    assert main(["dataset", "build", "--programs", "0", "--pitches", "60", "--velocities",
                 "100", "--no-progress", "--out", str(tmp_path / "ours")]) == 0
    assert main(["dataset", "build", "--programs", "0", "--pitches", "61", "--velocities",
                 "100", "--no-progress", "--force", "--out", str(tmp_path / "ours")]) == 0
    assert [p.name for p in (tmp_path / "ours" / "audio").iterdir()] == [
        "keyboard_acoustic_000-061-100.wav"]


# -- the frames cache of stage 2 --------

class _Notes:
    """A tiny stand-in for the train set: 6 one-second noise notes."""

    def __init__(self) -> None:
        self.names = [f"n{i}" for i in range(6)]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        return {"wav": torch.rand(16000, generator=g) - 0.5, "instrument": i % 2,
                "pitch": 60 + i, "velocity": i % 3}


@pytest.fixture
def encoder():
    from sing.data.vocabulary import Vocabulary
    from sing.models import Autoencoder, SingConfig

    vocab = Vocabulary(instruments=("a", "b"), instrument_ids=(0, 1),
                       families=("bass", "brass"), pitch_min=21, pitch_max=108,
                       note_length=16000)
    torch.manual_seed(0)
    return Autoencoder(SingConfig.for_vocabulary(vocab, "tiny"), vocab)


def test_damaged_frames_cache_is_reported_and_rebuilt(encoder, tmp_path, caplog):
    from sing.training.frames_cache import DamagedFramesCache, FramesCache, build_frames_cache

    folder = tmp_path / "run" / "frames"
    cache = build_frames_cache(folder, encoder, _Notes(), torch.device("cpu"))
    good = np.array(cache.frames)
    size = (folder / "frames.f32").stat().st_size
    with open(folder / "frames.f32", "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(DamagedFramesCache, match=rf"frames.f32: truncated or damaged "
                       rf"\({size // 2} bytes, {size} expected\)"):
        FramesCache(folder)
    cache = build_frames_cache(folder, encoder, _Notes(), torch.device("cpu"))
    assert "frames.f32: truncated or damaged" in caplog.text
    assert "encoding the train set again" in caplog.text
    assert np.array_equal(np.array(cache.frames), good)
    symbols = np.load(folder / "symbols.npy")
    (folder / "symbols.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DamagedFramesCache, match=r"symbols.npy: damaged \(ValueError\)"):
        FramesCache(folder)
    np.save(folder / "symbols.npy", symbols[::-1].copy())  # well-formed, wrong values
    with pytest.raises(DamagedFramesCache, match="symbols.npy: damaged .its checksum"):
        FramesCache(folder)
    cache = build_frames_cache(folder, encoder, _Notes(), torch.device("cpu"))
    assert np.array_equal(cache.symbols, symbols)
    assert sorted(p.name for p in folder.parent.iterdir()) == ["frames"]


def test_frames_cache_on_a_full_disk(encoder, tmp_path, monkeypatch):
    from sing.training.frames_cache import build_frames_cache

    _fake_disk(monkeypatch, 100_000)
    folder = tmp_path / "run" / "frames"
    with pytest.raises(SingError, match=r"not enough free space for the encoded frames \(6 "
                       r"notes\): it needs .* free"):
        build_frames_cache(folder, encoder, _Notes(), torch.device("cpu"))
    assert list(folder.parent.iterdir()) == []


def test_frames_encoding_stops_between_batches(encoder, tmp_path):
    """SIGTERM during stage 2's encoding: stopped within a batch, nothing left behind."""
    from sing.training.frames_cache import EncodingStopped, build_frames_cache

    folder = tmp_path / "run" / "frames"
    folder.parent.mkdir()
    polls = []

    def stop() -> bool:
        polls.append(1)
        return len(polls) > 2  # a signal arrives while the third batch is due

    with pytest.raises(EncodingStopped, match="stopped after encoding 4 of 6 notes"):
        build_frames_cache(folder, encoder, _Notes(), torch.device("cpu"), batch_size=2,
                           stop=stop)
    assert list(folder.parent.iterdir()) == []  # no folder, no temporary left
    cache = build_frames_cache(folder, encoder, _Notes(), torch.device("cpu"), batch_size=2,
                               stop=lambda: False)
    assert cache.frames.shape[0] == 6
