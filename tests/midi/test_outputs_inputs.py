"""Issue 20, items 1, 5, 8, 9, 10: an output never destroys an input, an input that is not a
file never hangs, blends are checked before any work, a killed render or generate leaves
nothing (or its next run removes it), and a closed stdout ends quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from midi_helpers import save_tiny, write_midi

from sing.cli import main
from sing.data.vocabulary import Vocabulary


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sing: error: ") and "Traceback" not in err, err
    return err.strip()


@pytest.fixture
def song(tmp_path: Path) -> Path:
    return write_midi(tmp_path / "song.mid", [(0, 0, [(0, 1, 60, 100), (1, 1, 64, 90)])])


def _render(song: Path, out: Path | str, model: Path, *extra: str) -> int:
    return main(["render", str(song), "--out", str(out), "--model", str(model), *extra])


# -- item 1: an output is never an input, nor a device; it is locked while written -------

def test_render_never_overwrites_its_inputs(tmp_path: Path, song: Path, gm_model_file: Path,
                                            capsys):
    model = tmp_path / "model.safetensors"
    model.write_bytes(gm_model_file.read_bytes())
    (tmp_path / "link.wav").symlink_to(song)
    os.link(model, tmp_path / "hard.wav")
    before = {p: p.read_bytes() for p in (song, model)}
    for out, named in [(song, song), (model, model), (tmp_path / "link.wav", song),
                       (tmp_path / "hard.wav", model)]:
        assert _render(song, out, model) == 2
        assert _one_line(capsys) == (
            f"sing: error: {out}: writing the .wav file here would overwrite an input of this "
            f"command ({named}); choose another output")
    assert {p: p.read_bytes() for p in (song, model)} == before
    assert (tmp_path / "link.wav").is_symlink()


def test_render_refuses_a_device_or_a_fifo_as_output(tmp_path: Path, song: Path,
                                                     gm_model_file: Path, capsys):
    fifo = tmp_path / "out.wav"
    os.mkfifo(fifo)
    for out in (Path("/dev/null"), fifo):
        assert _render(song, out, gm_model_file) == 2
        assert "exists and is not a regular file" in _one_line(capsys)
    assert Path("/dev/null").is_char_device() and fifo.is_fifo()




def test_two_writers_of_one_output_never_both_succeed(tmp_path: Path, song: Path,
                                                      gm_model_file: Path, holder, capsys):
    out = tmp_path / "song.wav"
    pid = holder(out)
    assert _render(song, out, gm_model_file) == 2
    assert _one_line(capsys) == (f"sing: error: {out}: another sing process (pid {pid}) is "
                                 "writing it now; wait for it to finish, or choose another output")
    assert not out.exists()
    folder = tmp_path / "notes"
    folder.mkdir()
    pid = holder(folder)
    assert main(["generate", "--model", str(gm_model_file), "--out", str(folder),
                 "--instrument", "keyboard_acoustic_000", "--pitch", "60"]) == 2
    assert f"another sing process (pid {pid})" in _one_line(capsys)
    assert list(folder.iterdir()) == []


def test_other_writers_refuse_their_inputs(tmp_path: Path, gm_model_file: Path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "examples.json").write_text("{}")
    assert main(["evaluate", "--model", str(gm_model_file), "--data", str(data),
                 "--out", str(data / "examples.json")]) == 2
    assert "would write into the data folder" in _one_line(capsys)
    assert (data / "examples.json").read_text() == "{}"
    assert main(["evaluate", "--model", str(gm_model_file), "--data", str(data),
                 "--out", str(gm_model_file)]) == 2
    assert "would overwrite an input of this command" in _one_line(capsys)
    run = tmp_path / "run"
    run.mkdir()
    assert main(["report", "--run", str(run), "--out", str(run)]) == 2
    assert "would replace or mix with an input" in _one_line(capsys)
    assert run.is_dir()


# -- item 5: inputs that are not files never hang ------------------------------------------

def test_fifo_inputs_never_hang(tmp_path: Path, song: Path, gm_model_file: Path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert main(["generate", "--model", str(gm_model_file), "--list", str(fifo),
                 "--out", str(tmp_path / "g")]) == 2
    assert _one_line(capsys) == f"sing: error: {fifo}: no note names in the list"
    assert main(["generate", "--model", str(fifo), "keyboard_acoustic_000-060-100",
                 "--out", str(tmp_path / "g")]) == 2
    assert _one_line(capsys) == (
        f"sing: error: {fifo}: not a regular file (a model file is needed)")
    assert _render(song, tmp_path / "x.wav", fifo) == 2
    assert "not a regular file" in _one_line(capsys)
    assert _render(fifo, tmp_path / "x.wav", gm_model_file) == 2
    assert "not a Standard MIDI File (an empty file)" in _one_line(capsys)
    assert time.monotonic() - started < 30
    assert not (tmp_path / "g").exists() and not (tmp_path / "x.wav").exists()


# -- item 8: blends checked before any work --------------------------------------------------

def test_blend_weights_and_long_names_are_refused_before_work(tmp_path: Path, capsys):
    names = tuple(f"string_acoustic_{i:03d}" for i in range(12))
    vocabulary = Vocabulary(instruments=names, instrument_ids=tuple(range(12)),
                            families=("string",) * 12, pitch_min=36, pitch_max=84,
                            note_length=16000)
    model = save_tiny(tmp_path / "m.safetensors", vocabulary)
    out = tmp_path / "out"
    for blend, message in [
        (f"{names[0]}:1e308,{names[1]}:1e308", "instrument blend weights sum to inf"),
        (f"{names[0]}:inf,{names[1]}:1", "must be >= 0 and finite, not inf"),
        (f"{names[0]}:nan,{names[1]}:1", "must be >= 0 and finite, not nan"),
        (",".join(f"{n}:1" for n in names), "bytes, over the 241 this file system allows"),
    ]:
        assert main(["generate", "--model", str(model), "--out", str(out),
                     "--instrument", blend, "--pitch", "60"]) == 2
        assert message in _one_line(capsys)
    assert not out.exists()
    assert main(["generate", "--model", str(model), "--out", str(out), "--instrument",
                 ",".join(f"{n}:1" for n in names[:8]), "--pitch", "60"]) == 0
    assert [p.name for p in out.iterdir()] == [
        "+".join(f"{n}_12" for n in names[:8]) + "-060-100.wav"]


# -- item 9: a killed render or generate leaves nothing, or its next run removes it ---------

#: Runs sing's main in a child whose WAV write stops at the fsync (announced on stdout).
_SLOW_WRITE = """
import os, sys, time
import sing.utils.atomic as atomic
real_fsync = os.fsync
def slow_fsync(fd):
    print("writing", flush=True)
    time.sleep(float(os.environ["SLOW_WRITE"]))
    real_fsync(fd)
atomic.os.fsync = slow_fsync
from sing.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _killed(argv: list[str], signum: int, slow: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITE, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SLOW_WRITE": str(slow)})
    assert proc.stdout.readline().strip() == "writing"  # inside the atomic write now
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def test_sigterm_during_the_write_leaves_nothing(tmp_path: Path, song: Path,
                                                 gm_model_file: Path):
    out = tmp_path / "out" / "song.wav"
    out.parent.mkdir()
    done = _killed(["render", str(song), "--out", str(out), "--model", str(gm_model_file)],
                   signal.SIGTERM)
    assert done.returncode == 130 and "sing: interrupted" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == []  # no WAV, temporary or lock
    notes = tmp_path / "notes"
    # generate's writer thread finishes the file it is writing (a complete WAV), then stops
    done = _killed(["generate", "--model", str(gm_model_file), "--out", str(notes),
                    "keyboard_acoustic_000-060-100", "keyboard_acoustic_000-062-100",
                    "--batch-size", "1"], signal.SIGTERM, slow=2)
    assert done.returncode == 130 and "Traceback" not in done.stderr, done.stderr
    assert sorted(p.name for p in notes.iterdir()) == ["keyboard_acoustic_000-060-100.wav"]


def test_after_sigkill_the_next_run_removes_the_temporary(tmp_path: Path, song: Path,
                                                          gm_model_file: Path):
    out = tmp_path / "song.wav"
    argv = ["render", str(song), "--out", str(out), "--model", str(gm_model_file)]
    assert _killed(argv, signal.SIGKILL).returncode == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-song.wav.")]
    assert len(left) == 1
    (tmp_path / "other.txt").write_text("not ours")
    assert main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.txt", "song.mid", "song.wav"]
    notes = tmp_path / "notes"
    gen = ["generate", "--model", str(gm_model_file), "--out", str(notes),
           "keyboard_acoustic_000-060-100"]
    assert _killed(gen, signal.SIGKILL).returncode == -signal.SIGKILL
    (notes / ".tmp-checkpoint.pt.abcdefgh").write_bytes(b"another target's: kept")
    assert len(list(notes.iterdir())) == 2
    assert main(gen) == 0
    assert sorted(p.name for p in notes.iterdir()) == [
        ".tmp-checkpoint.pt.abcdefgh", "keyboard_acoustic_000-060-100.wav"]


# -- item 10: a closed stdout ends quietly -----------------------------------------------------

def test_a_closed_stdout_ends_quietly(gm_model_file: Path):
    proc = subprocess.Popen([sys.executable, "-m", "sing", "info", str(gm_model_file),
                             "--instruments"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head -0` does: every write now fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""
