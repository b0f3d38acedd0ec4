"""Bad arguments of `sing train` / `sing plot`: one clear line each, exit code 2."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from dataset_helpers import data_copy
from train_helpers import run_cli, train_args


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.strip().splitlines() if x.startswith("sing: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_no_data(tmp_path, capsys):
    assert run_cli(*train_args(tmp_path / "nowhere", tmp_path / "run")) == 2
    line = _one_error_line(capsys)
    assert "nowhere" in line and "no such data set folder" in line


def test_no_split(gm_dataset, tmp_path, capsys):
    data = tmp_path / "nosplit"
    shutil.copytree(gm_dataset, data, ignore=shutil.ignore_patterns("split.json"))
    assert run_cli(*train_args(data, tmp_path / "run")) == 2
    line = _one_error_line(capsys)
    assert "split.json" in line and "sing dataset split" in line


def test_unknown_preset(gm_dataset, tmp_path, capsys):
    args = train_args(gm_dataset, tmp_path / "run")
    args[args.index("tiny")] = "huge"
    assert run_cli(*args) == 2
    assert "unknown preset 'huge'" in _one_error_line(capsys)


def test_unwritable_run_dir(gm_dataset, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert run_cli(*train_args(gm_dataset, blocker / "run")) == 2
    assert _one_error_line(capsys) == (
        f"sing: error: {blocker}: is a file, not a folder (needed for {blocker / 'run'})")


def test_checkpoint_from_another_config(gm_dataset, reference_run, tmp_path, capsys):
    out = tmp_path / "other"
    out.mkdir()
    shutil.copy(reference_run / "checkpoint.pt", out / "checkpoint.pt")
    assert run_cli(*train_args(gm_dataset, out, "--lr", "1e-3")) == 2
    line = _one_error_line(capsys)
    assert "checkpoint.pt" in line and "another training configuration" in line
    assert "lr=0.0003 (now 0.001)" in line


def test_truncated_checkpoint(gm_dataset, reference_run, tmp_path, capsys):
    out = tmp_path / "truncated"
    out.mkdir()
    data = (reference_run / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    assert run_cli(*train_args(gm_dataset, out)) == 2
    assert "damaged checkpoint: its checksum does not match its content" in _one_error_line(capsys)


@pytest.mark.parametrize("extra, message", [
    (("--resume",), "--resume: no checkpoint to resume from"),
    (("--stages", "ae,decode"), "--stages ae,decode: expected"),
    (("--stages", "seq"), "run stage ae too, or give --init-autoencoder"),
    (("--batch-size", "0"), "--batch-size: expected a whole number from 1 to 4096, not '0'"),
    (("--lr", "nan"), "--lr: expected a number in (0, 1], not 'nan'"),
    (("--device", "tpu"), "unknown device 'tpu'"),
])
def test_bad_options(gm_dataset, tmp_path, capsys, extra, message):
    assert run_cli(*train_args(gm_dataset, tmp_path / "run", *extra)) == 2
    assert message in _one_error_line(capsys)


def test_init_model_of_another_kind(gm_dataset, reference_run, tmp_path, capsys):
    args = train_args(gm_dataset, tmp_path / "run", "--init-autoencoder",
                      str(reference_run / "model.safetensors"))
    assert run_cli(*args) == 2
    assert "model.safetensors" in _one_error_line(capsys)


def test_plot_without_metrics(tmp_path, capsys):
    assert run_cli("plot", str(tmp_path)) == 2
    assert "no metrics.jsonl here" in _one_error_line(capsys)



def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def test_flipped_byte_in_checkpoint(gm_dataset, reference_run, tmp_path, capsys):
    out = tmp_path / "flipped"
    out.mkdir()
    shutil.copy(reference_run / "checkpoint.pt", out / "checkpoint.pt")
    _flip_byte(out / "checkpoint.pt", (out / "checkpoint.pt").stat().st_size // 2)
    assert run_cli(*train_args(gm_dataset, out)) == 2
    line = _one_error_line(capsys)
    assert "checkpoint.pt: damaged checkpoint: its checksum does not match its content" in line


class _Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("with_header", [True, False])
def test_hostile_checkpoint_is_refused_without_pytorch_advice(gm_dataset, tmp_path, capsys,
                                                              with_header):
    import hashlib
    import io

    import torch

    from sing.training.checkpoint import MAGIC

    out = tmp_path / "hostile"
    out.mkdir()
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    torch.save({"format": 1, "evil": _Evil(marker)}, buffer)
    payload = buffer.getvalue()
    if with_header:  # a valid checksum does not make a file safe
        payload = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    (out / "checkpoint.pt").write_bytes(payload)
    assert run_cli(*train_args(gm_dataset, out)) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"sing: error: {out / 'checkpoint.pt'}: damaged or not a sing checkpoint (it cannot be "
        "read safely); delete it to start the run over, or train into another --out folder"]
    assert "weights_only" not in err
    assert not marker.exists()


def test_checkpoint_with_foreign_weights(gm_dataset, reference_run, tmp_path, capsys):
    import torch

    from sing.training.checkpoint import load_checkpoint, save_checkpoint

    out = tmp_path / "foreign"
    out.mkdir()
    state = load_checkpoint(reference_run / "checkpoint.pt")
    state["models"]["autoencoder"] = {"not.a.weight": torch.zeros(3)}
    save_checkpoint(out / "checkpoint.pt", state)
    assert run_cli(*train_args(gm_dataset, out)) == 2
    line = _one_error_line(capsys)
    assert "damaged or not a sing checkpoint (RuntimeError while restoring it)" in line


def test_resume_with_another_preset_names_the_option(gm_dataset, reference_run, tmp_path,
                                                     capsys):
    out = tmp_path / "preset"
    out.mkdir()
    shutil.copy(reference_run / "checkpoint.pt", out / "checkpoint.pt")
    args = train_args(gm_dataset, out)
    args[args.index("tiny")] = "small"
    assert run_cli(*args) == 2
    line = _one_error_line(capsys)
    assert "another training configuration: preset='tiny' (now 'small'); use the same" in line
    assert "{" not in line and len(line) < 300


def test_resume_on_another_split_says_the_data_differs(gm_dataset, reference_run, tmp_path,
                                                      capsys):
    from sing.data.split import make_split

    data = data_copy(gm_dataset, tmp_path / "resplit")
    make_split(data, seed=7, force=True)
    out = tmp_path / "run"
    out.mkdir()
    shutil.copy(reference_run / "checkpoint.pt", out / "checkpoint.pt")
    assert run_cli(*train_args(data, out)) == 2
    line = _one_error_line(capsys)
    assert ("another training configuration: the data set or its split differs (other "
            "train notes); use the same options and data") in line
    assert "{" not in line


def test_split_with_a_note_in_two_sets_is_refused(gm_dataset, tmp_path, capsys):
    import json

    data = data_copy(gm_dataset, tmp_path / "leaky")
    split = json.loads((data / "split.json").read_text())
    leaked = split["splits"]["test"][0]
    split["splits"]["train"].append(leaked)
    (data / "split.json").write_text(json.dumps(split))
    assert run_cli(*train_args(data, tmp_path / "run")) == 2
    line = _one_error_line(capsys)
    assert f"split.json: '{leaked}' is in both train and test (and 5 more problem(s))" in line
    assert "a split must not leak notes between train, valid and test" in line
    assert not (tmp_path / "run").exists()


def test_a_rerun_removes_the_temporaries_of_a_killed_run(gm_dataset, reference_run, tmp_path):
    out = tmp_path / "killed"
    shutil.copytree(reference_run, out)
    (out / ".tmp-checkpoint.pt.abcd1234").write_bytes(bytes(100))
    (out / ".tmp-frames.x1y2z3w4").mkdir()
    (out / ".tmp-frames.x1y2z3w4" / "frames.f32").write_bytes(bytes(100))
    assert run_cli(*train_args(gm_dataset, out)) == 0  # already trained: nothing else to do
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_run_folder_may_not_be_an_input(gm_dataset, tmp_path, capsys):
    data = data_copy(gm_dataset, tmp_path / "data")
    for out in (data, data / "runs" / "r"):
        code = run_cli(*train_args(data, out))
        err = capsys.readouterr().err
        assert code == 2 and "would mix with the data folder" in err and "\n" not in err.strip()
    assert sorted(p.name for p in data.iterdir()) == sorted(p.name for p in gm_dataset.iterdir())
