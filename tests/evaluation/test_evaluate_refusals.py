"""`sing evaluate` / `sing report` refuse what would not be a held-out evaluation (issue 10:
items 4, 5, 6, 7): an empty selection, a leaking split, a model trained on other data or
making notes of another length. One line each, exit 2, no traceback."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from dataset_helpers import data_copy

from sing.cli import main


def _model_file(path: Path, data: Path, note_length: int | None = None,
                record: bool = True) -> Path:
    """An untrained tiny SING model for ``data``'s vocabulary, recording ``data``'s train split
    as its training data (as `sing train` does)."""
    from sing.data.fingerprint import training_data
    from sing.data.nsynth import NSynthDataset
    from sing.models import SING, SingConfig
    from sing.models.io import save_model

    train = NSynthDataset(data, split="train")
    vocab = train.vocabulary
    if note_length is not None:
        vocab = dataclasses.replace(vocab, note_length=note_length)
    torch.manual_seed(0)
    model = SING(SingConfig.for_vocabulary(vocab, "tiny"), vocab)
    record_ = training_data(data, train.names, vocab.note_length) if record else None
    return save_model(path, model, recipe={"data": str(data)}, training_data=record_)


@pytest.fixture(scope="module")
def model_file(gm_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_file(tmp_path_factory.mktemp("model") / "m.safetensors", gm_dataset)


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [x for x in err.strip().splitlines() if x.startswith("sing: error")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _evaluate(model: Path, data: Path, *extra: str) -> int:
    return main(["evaluate", "--model", str(model), "--data", str(data), "--no-resample",
                 *extra])


def test_model_file_records_its_training_data(model_file, gm_dataset):
    from sing.data.fingerprint import train_fingerprint
    from sing.data.split import load_split
    from sing.models.io import read_info

    record = read_info(model_file).training_data
    assert record["train_notes"] == 90 and record["note_length"] == 64000
    assert record["fingerprint"] == train_fingerprint(load_split(gm_dataset)["train"], 64000)
    assert record["fingerprint"] != train_fingerprint(load_split(gm_dataset)["train"], 32000)


def test_limit_zero_is_nothing_to_evaluate(model_file, gm_dataset, capsys):
    assert _evaluate(model_file, gm_dataset, "--limit", "0") == 2
    assert _one_line(capsys) == "sing: error: nothing to evaluate: --limit is 0"
    assert main(["report", "--model", str(model_file), "--data", str(gm_dataset),
                 "--limit", "0", "--out", str(gm_dataset.parent / "no-report")]) == 2
    assert _one_line(capsys) == "sing: error: nothing to evaluate: --limit is 0"
    assert not (gm_dataset.parent / "no-report").exists()


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_negative_limit(model_file, gm_dataset, capsys, command):
    assert main([command, "--model", str(model_file), "--data", str(gm_dataset),
                 "--limit", "-2"]) == 2
    assert _one_line(capsys).startswith(
        "sing: error: --limit: expected a whole number from 0 to 1e+09, not '-2'")


def test_select_notes_refuses_a_negative_limit():
    from sing.errors import SingError
    from sing.evaluation.evaluator import select_notes

    with pytest.raises(SingError, match="--limit must be 0 or more notes, not -1"):
        select_notes(10, -1)


def test_empty_split_is_nothing_to_evaluate(model_file, gm_dataset, tmp_path, capsys):
    data = data_copy(gm_dataset, tmp_path / "empty")
    split = json.loads((data / "split.json").read_text())
    split["splits"]["test"] = []
    (data / "split.json").write_text(json.dumps(split))
    model = _model_file(tmp_path / "m.safetensors", data)
    assert _evaluate(model, data) == 2
    assert _one_line(capsys) == (
        f"sing: error: {data / 'split.json'}: nothing to evaluate: the split has no notes")
    assert main(["report", "--model", str(model), "--data", str(data),
                 "--out", str(tmp_path / "r")]) == 2
    assert _one_line(capsys) == (
        f"sing: error: {data / 'split.json'}: nothing to evaluate: the test split has no notes")


def test_leaking_split_is_refused(model_file, gm_dataset, tmp_path, capsys):
    data = data_copy(gm_dataset, tmp_path / "leaky")
    split = json.loads((data / "split.json").read_text())
    leaked = split["splits"]["train"][0]
    split["splits"]["test"].append(leaked)
    (data / "split.json").write_text(json.dumps(split))
    assert _evaluate(model_file, data) == 2
    line = _one_line(capsys)
    assert line.startswith(f"sing: error: {data / 'split.json'}: '{leaked}' is in both train "
                           "and test")


def test_model_trained_on_another_split_is_refused(model_file, gm_dataset, tmp_path, capsys,
                                                   caplog):
    from sing.data.split import make_split

    data = data_copy(gm_dataset, tmp_path / "resplit")
    make_split(data, seed=7, force=True)
    assert _evaluate(model_file, data) == 2
    line = _one_line(capsys)
    assert line.startswith(f"sing: error: {model_file}: it was trained on another data set or "
                           "split (90 train notes in ")
    assert line.endswith("its test notes may be notes it trained on: evaluate on the data it "
                         "was trained on, or pass --allow-other-data to score it anyway")
    # asked for explicitly: scored, with a loud warning
    assert _evaluate(model_file, data, "--limit", "1", "--allow-other-data") == 0
    assert "## m.safetensors on test" in capsys.readouterr().out
    assert "WARNING: " in caplog.text and "these scores are not a held-out evaluation" in (
        caplog.text)


def test_model_of_another_note_length_is_refused(gm_dataset, tmp_path, capsys):
    model = _model_file(tmp_path / "half.safetensors", gm_dataset, note_length=32000)
    assert _evaluate(model, gm_dataset) == 2
    line = _one_line(capsys)
    assert (f"{model}: the model makes 32000-sample notes, the notes of {gm_dataset} have "
            "64000 samples") in line
    assert line.endswith("samples: evaluate on the data it was trained on, or pass "
                         "--allow-other-data to score it anyway")


def test_model_without_training_record_is_scored_with_a_warning(gm_dataset, tmp_path, caplog):
    model = _model_file(tmp_path / "old.safetensors", gm_dataset, record=False)
    assert _evaluate(model, gm_dataset, "--limit", "1") == 0
    assert "does not record its training data" in caplog.text


@pytest.mark.parametrize("command", ["evaluate", "report"])
def test_out_under_a_file_is_refused_before_any_work(model_file, gm_dataset, tmp_path, capsys,
                                                     command):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "results" / "m.json"
    argv = [command, "--model", str(model_file), "--data", str(gm_dataset), "--out", str(out)]
    assert main(argv) == 2
    needed = out.parent if command == "evaluate" else out
    assert _one_line(capsys) == (
        f"sing: error: {blocker}: is a file, not a folder (needed for {needed})")


def test_evaluate_through_the_generation_path(model_file, gm_dataset, tmp_path):
    """``--dtype`` scores the notes `sing generate` would write: float32 gives the model's own
    forward's metrics, int8 its own (recorded in the results)."""
    scores = {}
    for dtype in (None, "float32", "int8"):
        out = tmp_path / f"{dtype}.json"
        extra = () if dtype is None else ("--dtype", dtype)
        assert _evaluate(model_file, gm_dataset, "--limit", "3", "--pitch-estimator", "yin",
                         "--out", str(out), *extra) == 0
        results = json.loads(out.read_text())
        assert results["meta"].get("generation dtype") == dtype
        scores[dtype] = [n["spectral_l1"] for n in results["notes"] if n["system"] == "sing"]
    assert len(scores[None]) == 3
    assert scores["float32"] == pytest.approx(scores[None], rel=1e-4)
    assert scores["int8"] == pytest.approx(scores[None], rel=0.05)
    assert scores["int8"] != scores[None]
