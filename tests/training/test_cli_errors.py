"""Bad arguments of `sing train` / `sing plot`: one clear line each, exit code 2."""

from __future__ import annotations

import shutil

import pytest
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
    line = _one_error_line(capsys)
    assert "a_file/run" in line and "cannot write the run folder" in line


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
    assert "not a readable sing checkpoint" in _one_error_line(capsys)


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
