"""`sing export`: a blend exported and played; bad input is one line, exit 2, nothing left."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from export_helpers import fluidsynth

from sing.cli import main


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.strip().splitlines() if x.startswith("sing: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _nothing_left(folder: Path, before: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == before


def test_a_blend_exported_and_played(tmp_path, capsys):
    out = tmp_path / "warm.sf2"
    assert main(["export", "--instrument", "0:0.7,40:0.3", "--name", "Warm piano",
                 "--pitches", "58-62", "--every", "5", "--velocities", "50,100",
                 "--out", str(out)]) == 0
    from sf2utils.sf2parse import Sf2File

    with open(out, "rb") as f:
        sf2 = Sf2File(f)
        presets = [(p.bank, p.preset, p.name) for p in sf2.presets if p.name != "EOP"]
        assert presets == [(0, 0, "Warm piano"), (128, 0, "Drums (silent)")]
        assert len([s for s in sf2.samples if s.name != "EOS"]) == 1 * 2
    from sing.midi.writer import Part, write_midi

    part = Part("p", 0, 0)
    part.notes = [(0, 1, 60, 100), (1, 1, 64, 40)]
    midi = write_midi(tmp_path / "p.mid", [part], 120.0)
    run = fluidsynth(out, midi, tmp_path / "p.wav")
    assert run.returncode == 0 and run.stderr.strip() == ""
    assert main(["export", "--instruments", "40", "--pitches", "60-60", "--format", "sfz",
                 "--out", str(tmp_path / "violin")]) == 0
    assert sorted(p.name for p in (tmp_path / "violin").iterdir()) == ["040_Violin.sfz",
                                                                      "samples"]


@pytest.fixture(scope="module")
def autoencoder_file(tmp_path_factory) -> Path:
    import torch

    import sing.api
    from sing.models import Autoencoder, SingConfig
    from sing.models.io import save_model

    vocabulary = sing.api.load_model(None).vocabulary
    torch.manual_seed(0)
    model = Autoencoder(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary)
    return save_model(tmp_path_factory.mktemp("ae") / "ae.safetensors", model)


@pytest.mark.parametrize("args,message", [
    (["--instruments", "0,banjo_9"], "unknown instrument 'banjo_9'"),
    (["--instrument", "0:0.5,nope:0.5"], "unknown instrument 'nope'"),
    (["--pitches", "72-60"], "empty pitch range 72-60"),
    (["--pitches", "-"], "bad pitch range '-'"),
    (["--pitches", "20-30"], "outside this model's range 24-96"),
    (["--every", "0"], "--every: expected a whole number from 1 to 128, not '0'"),
    (["--velocities", "64"], "velocity 64 is not one of this model's velocities"),
    (["--name", "x"], "--name names the --instrument preset"),
])
def test_bad_options_are_one_line(tmp_path, capsys, args, message):
    out = tmp_path / "bank.sf2"
    assert main(["export", "--out", str(out), *args]) == 2
    assert message in _one_line(capsys)
    _nothing_left(tmp_path, set())


def test_an_autoencoder_file_is_refused(autoencoder_file, tmp_path, capsys):
    assert main(["export", "--model", str(autoencoder_file), "--out",
                 str(tmp_path / "b.sf2")]) == 2
    assert _one_line(capsys) == (f"sing: error: {autoencoder_file}: is a autoencoder model "
                                 "file, a sing model is needed here")
    _nothing_left(tmp_path, set())


def test_unwritable_outputs_are_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    (tmp_path / "folder").mkdir()
    before = {"file", "folder"}
    cases = [
        (tmp_path / "file" / "b.sf2", "cannot write: its folder does not exist"),
        (tmp_path / "folder", "is a folder; give a .sf2 file name"),
        (Path("/proc/sing-export-test.sf2"), "/proc/sing-export-test.sf2: "),
    ]
    for out, message in cases:
        assert main(["export", "--instruments", "0", "--pitches", "60-60", "--out",
                     str(out)]) == 2
        assert message in _one_line(capsys)
    assert main(["export", "--format", "sfz", "--out", str(tmp_path / "file")]) == 2
    assert "is a file; an SFZ export is a folder" in _one_line(capsys)
    _nothing_left(tmp_path, before)
    assert list((tmp_path / "folder").iterdir()) == []


@pytest.mark.parametrize("fmt", ["sf2", "sf3"])
def test_a_full_output_is_one_line_and_leaves_nothing(tmp_path, fmt):
    """A real write failure in a real process (a 150 kB file-size limit), after the
    generation has started: one line, exit 2, neither the bank nor a temporary left."""
    out = tmp_path / f"bank.{fmt}"

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000 if fmt == "sf2" else 30_000,) * 2)

    proc = subprocess.run([sys.executable, "-m", "sing", "-q", "export", "--instruments",
                           "0,40", "--pitches", "48-72", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert proc.returncode == 2, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.startswith("sing: error")]
    assert lines == [f"sing: error: {out}: file too large (file system or process limit)"], \
        proc.stderr
    assert "Traceback" not in proc.stderr
    _nothing_left(tmp_path, set())
