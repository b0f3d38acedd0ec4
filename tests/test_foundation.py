"""The shared foundation: vocabulary, atomic writes, the CLI's error handling."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sing.data.vocabulary import Vocabulary, note_name, parse_note_name
from sing.errors import SingError
from sing.utils.atomic import atomic_directory, atomic_write, atomic_write_text


def _vocab() -> Vocabulary:
    return Vocabulary(
        instruments=("guitar_acoustic_009", "brass_acoustic_001"),
        instrument_ids=(9, 1),
        families=("guitar", "brass"),
    )


def test_note_name_round_trip():
    assert note_name("guitar_acoustic_009", 69, 100) == "guitar_acoustic_009-069-100"
    assert parse_note_name("guitar_acoustic_009-069-100") == ("guitar_acoustic_009", 69, 100)
    with pytest.raises(SingError, match="not an NSynth note name"):
        parse_note_name("guitar-69-100")


def test_vocabulary_lookups_and_errors():
    v = _vocab()
    assert v.instrument_index("brass_acoustic_001") == 1
    assert v.instrument_index(9) == 0
    assert v.instrument_index("1") == 1
    assert v.velocity_index(127) == 4
    assert v.encode_note("brass_acoustic_001-060-025") == (1, 60, 0)
    with pytest.raises(SingError, match="unknown instrument 'flute_synthetic_000'"):
        v.instrument_index("flute_synthetic_000")
    with pytest.raises(SingError, match=r"velocity 90 .*25, 50, 75, 100, 127"):
        v.velocity_index(90)
    with pytest.raises(SingError, match="pitch 200 is outside"):
        v.check_pitch(200)


def test_vocabulary_json_round_trip():
    v = _vocab()
    assert Vocabulary.from_json(v.to_json()) == v
    with pytest.raises(SingError, match="malformed vocabulary"):
        Vocabulary.from_dict({"instruments": []})


def test_vocabulary_from_examples():
    examples = {
        "b-060-100": dict(instrument=5, instrument_str="b", instrument_family_str="bass",
                          velocity=100, pitch=60, sample_rate=16000),
        "a-061-025": dict(instrument=2, instrument_str="a", instrument_family_str="organ",
                          velocity=25, pitch=61, sample_rate=16000),
    }
    v = Vocabulary.from_examples(examples)
    assert v.instruments == ("a", "b") and v.families == ("organ", "bass")
    assert v.velocities == (25, 100) and (v.pitch_min, v.pitch_max) == (60, 61)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as f:
            f.write("new, half written")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_atomic_directory(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as tmp:
            (tmp / "a").write_text("x")
            raise RuntimeError("interrupted")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_directory(out) as tmp:
        (tmp / "a").write_text("x")
    assert (out / "a").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0 and not os.path.exists("/dev/full"), reason="no /dev/full")
def test_full_disk_is_one_line(tmp_path):
    # /dev/full fails every write with ENOSPC: the error names the file and the problem.
    from sing.errors import describe_os_error

    with pytest.raises(OSError) as info:
        with open("/dev/full", "w") as f:
            f.write("x" * 10)
            f.flush()
    assert describe_os_error(info.value, "/dev/full") == "/dev/full: no space left on device"


def test_cli_without_command_prints_help():
    proc = subprocess.run([sys.executable, "-m", "sing"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage: sing" in proc.stdout


def test_atomic_files_get_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        with atomic_directory(tmp_path / "d"):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755


def test_resolve_device_one_line_errors():
    import torch

    from sing.utils.device import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(SingError, match="unknown device 'foo'"):
        resolve_device("foo")
    with pytest.raises(SingError, match="unsupported device 'meta'"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(SingError, match="no CUDA GPU is available"):
            resolve_device("cuda:1")


def test_evaluate_bad_device_is_one_line(tmp_path):
    # the evaluation commands used to hand --device to torch unchecked (a traceback)
    proc = subprocess.run(
        [sys.executable, "-m", "sing", "evaluate", "--model", str(tmp_path / "m.safetensors"),
         "--data", str(tmp_path), "--device", "foo"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "sing: error: unknown device 'foo' (expected auto, cpu, cuda or cuda:N)"
    )
