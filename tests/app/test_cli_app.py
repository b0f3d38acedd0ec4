"""`sing app` refuses bad arguments in one line before it loads anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from sing.cli import main


def test_listen_data_without_split(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["app", "--listen-data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"sing: error: {tmp_path}: not a data folder with a split.json (make one "
                   "with `sing dataset split`)\n")


def test_answers_in_a_missing_folder(listen_data: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture) -> None:
    answers = tmp_path / "nowhere" / "answers.csv"
    assert main(["app", "--listen-data", str(listen_data), "--answers", str(answers)]) == 2
    assert capsys.readouterr().err == (
        f"sing: error: {answers}: cannot write: its folder does not exist\n")


def test_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["app", "--model", str(tmp_path / "none.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sing: error: ") and "none.safetensors" in err
    assert len(err.splitlines()) == 1


def test_port_is_checked(capsys: pytest.CaptureFixture) -> None:
    assert main(["app", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
