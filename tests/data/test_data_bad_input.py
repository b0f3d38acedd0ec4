"""Bad input: one line naming the file and the problem, exit code 2, no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sing.cli import main
from sing.data.nsynth import NSynthDataset
from sing.data.wav import wav_bytes
from sing.errors import SingError

NOTE = "keyboard_acoustic_000-060-100"


@pytest.fixture
def ds_copy(gm_dataset: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(gm_dataset, root)
    return root


def _wav(root: Path, name: str = NOTE) -> Path:
    return root / "audio" / f"{name}.wav"


def _stereo_wav(rate: int, frames: int) -> bytes:
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros((frames, 2), np.int16), rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


BAD_WAVS = {
    "missing": (None, "audio file is missing"),
    "truncated": ("truncate", "is truncated: "),
    "not a wav": (b"this is not audio\n", "not a readable WAV file"),
    "sample rate": (wav_bytes(np.zeros(64000, np.int16), 22050),
                    "has sample rate 22050 Hz, expected 16000 Hz"),
    "channels": (_stereo_wav(16000, 64000), "has 2 channels, expected 1"),
    "length": (wav_bytes(np.zeros(32000, np.int16), 16000), "has 32000 samples, expected 64000"),
}


@pytest.mark.parametrize("case", list(BAD_WAVS))
def test_bad_wav_is_one_clear_error(ds_copy: Path, case: str, capsys: pytest.CaptureFixture):
    content, message = BAD_WAVS[case]
    path = _wav(ds_copy)
    if content is None:
        path.unlink()
    elif content == "truncate":
        path.write_bytes(path.read_bytes()[:50000])
    else:
        path.write_bytes(content)
    ds = NSynthDataset(ds_copy)
    with pytest.raises(SingError) as info:
        ds[ds.names.index(NOTE)]
    assert str(info.value).startswith(f"{path}: {message}")
    assert main(["dataset", "check", str(ds_copy), "--no-progress"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"{path}: {message}")


def test_check_lists_every_problem(ds_copy: Path, capsys: pytest.CaptureFixture):
    examples = json.loads((ds_copy / "examples.json").read_text())
    del examples["flute_acoustic_073-060-050"]["pitch"]
    examples["flute_acoustic_073-061-050"]["velocity"] = "50"
    (ds_copy / "examples.json").write_text(json.dumps(examples))
    _wav(ds_copy).unlink()
    _wav(ds_copy, "string_acoustic_040-057-025").write_bytes(b"RIFF")
    (ds_copy / "audio" / "stray-060-100.wav").write_bytes(b"")
    assert main(["dataset", "check", str(ds_copy), "--no-progress"]) == 2
    out = capsys.readouterr().out
    assert "missing key(s) pitch" in out and "'velocity' is str, expected int" in out
    assert f"{_wav(ds_copy)}: audio file is missing" in out
    assert "string_acoustic_040-057-025.wav: not a readable WAV file" in out
    assert "stray-060-100.wav: audio file with no entry in examples.json" in out
    assert len(out.splitlines()) == 5


def test_check_clean_folder(gm_dataset: Path, capsys: pytest.CaptureFixture):
    assert main(["dataset", "check", str(gm_dataset), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{gm_dataset}: OK: 120 notes of 3 instruments, 4 s at 16000 Hz, "
        "split train 90 / valid 15 / test 15, cache none"
    )


@pytest.mark.parametrize("text, message", [
    ("{not json", "malformed JSON"),
    ("[]", "expected one object (note name -> metadata), found list"),
    ("{}", "contains no notes"),
    ('{"a-060-100": {"note": 1}}', "note 'a-060-100': missing key(s) note_str"),
])
def test_bad_examples_json(tmp_path: Path, text: str, message: str):
    (tmp_path / "examples.json").write_text(text)
    with pytest.raises(SingError) as info:
        NSynthDataset(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'examples.json'}: {message}")


def test_empty_and_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture):
    with pytest.raises(SingError, match="examples.json: missing"):
        NSynthDataset(tmp_path)
    assert main(["dataset", "check", str(tmp_path)]) == 2
    assert f"{tmp_path}: empty folder" in capsys.readouterr().out
    with pytest.raises(SingError, match="no such folder"):
        NSynthDataset(tmp_path / "nope")


def test_cli_bad_soundfont_and_out(tmp_path: Path, capsys: pytest.CaptureFixture):
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    args = ["dataset", "build", "--programs", "0", "--pitches", "60", "--no-progress"]
    assert main([*args, "--soundfont", str(fake), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"sing: error: {fake}: is not a SoundFont (SF2) file")
    assert main([*args, "--soundfont", str(tmp_path / "none.sf2"), "--out", str(tmp_path)]) == 2
    assert "none.sf2: SoundFont not found" in capsys.readouterr().err
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00sfbkLIST\x04\x00\x00\x00junk")
    assert main([*args, "--soundfont", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"sing: error: {broken}: FluidSynth could not load this SoundFont")
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(b"RIFF\xff\xff\x00\x00sfbk" + bytes(100))
    assert main([*args, "--soundfont", str(cut), "--out", str(tmp_path / "o")]) == 2
    assert "cut.sf2: truncated SoundFont (112 of 65543 bytes)" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([*args, "--out", str(blocker / "ds")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"sing: error: {blocker}: is a file, not a folder (needed for {blocker / 'ds'})")
    assert main([*args, "--pitches", "60-200", "--out", str(tmp_path / "o")]) == 2
    assert "pitch 200 is outside 0-127" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_end_to_end_in_a_subprocess(tmp_path: Path):
    sing = [sys.executable, "-m", "sing", "dataset"]
    out = tmp_path / "ds"
    build = subprocess.run([*sing, "build", "--programs", "0,40", "--pitches", "60-63",
                            "--velocities", "100,127", "--out", str(out)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "SoundFont: /" in build.stderr and "16 notes of 2 instruments" in build.stdout
    again = subprocess.run([*sing, "build", "--programs", "0", "--out", str(out)],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip().splitlines()[-1] == (
        f"sing: error: {out}: already exists; use --force to replace it")
    split = subprocess.run([*sing, "split", str(out)], capture_output=True, text=True)
    assert split.returncode == 0 and "train 8, valid 4, test 4" in split.stdout
    bad = subprocess.run([*sing, "split", str(out), "--seed", "3", "--test", "0.5"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "a different split already exists" in bad.stderr
    cache = subprocess.run([*sing, "cache", str(out)], capture_output=True, text=True)
    assert cache.returncode == 0 and (out / "sing-cache" / "audio.npy").is_file()
    check = subprocess.run([*sing, "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0 and "cache fresh" in check.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_cli_read_only_out(tmp_path: Path, capsys: pytest.CaptureFixture):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        assert main(["dataset", "build", "--programs", "0", "--pitches", "60", "--no-progress",
                     "--out", str(parent / "ds")]) == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == (
            f"sing: error: {parent / 'ds'}: permission denied")
    finally:
        parent.chmod(0o700)


def test_fifos_in_a_data_folder_never_hang(tmp_path, capsys):
    """Issue 20, item 5: an examples.json, a split.json, a WAV or a SoundFont that is a FIFO
    (no writer) is one line at once, never a blocked open."""
    import os
    import time

    from sing.data.soundfont import find_soundfont
    from sing.data.split import load_split
    from sing.data.wav import read_wav

    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("examples.json", "split.json", "note.wav", "bank.sf2"):
        os.mkfifo(folder / name)
    started = time.monotonic()
    assert main(["dataset", "check", str(folder), "--no-progress"]) == 2
    out = capsys.readouterr()
    assert f"{folder / 'examples.json'}: malformed JSON" in out.out, out
    assert "Traceback" not in out.err
    with pytest.raises(SingError, match=r"split\.json: malformed JSON"):
        load_split(folder)
    with pytest.raises(SingError, match=r"note\.wav: not a file"):
        read_wav(folder / "note.wav")
    with pytest.raises(SingError, match=r"bank\.sf2: is not a regular file"):
        find_soundfont(folder / "bank.sf2")
    assert time.monotonic() - started < 20
