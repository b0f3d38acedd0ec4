"""`sing experiment gm-model` (issue 9, item 1): the shipped model's recipe in one resumable
command, on a tiny configuration (piano and violin, pitches 60-65, tiny preset, one epoch per
stage, 8 notes per split).

One run of the command (with ``--install`` into a temporary package folder, never the real
``src/sing/pretrained``) is shared by the tests of this module; a second run checks that a
rerun trains nothing again.
"""

from __future__ import annotations

import json
import math
import shlex
import struct
import wave
from pathlib import Path

import pytest
import torch

import sing.pretrained
from sing.cli import build_parser, main
from sing.errors import SingError
from sing.recipes.gm_model import (
    EXPORT_FILE,
    MAX_SHIPPED_BYTES,
    GmRecipe,
    install_model,
    stage_times,
)

TINY = ["--programs", "0,40", "--pitches", "60-65", "--preset", "tiny", "--epochs", "1,1,1",
        "--max-notes", "8", "--eval-notes", "8"]
#: What building, training and evaluating write: a rerun must leave them untouched.
TRAINED = ("data/examples.json", "data/split.json", "run-autoencoder/autoencoder.safetensors",
           "run-autoencoder/checkpoint.pt", "run/model.safetensors", "run/checkpoint.pt",
           "heldout.json")
#: The trainer rewrites a finished run's log from its checkpoint: same bytes.
METRICS = ("run-autoencoder/metrics.jsonl", "run/metrics.jsonl")
REAL_SHIPPED = Path(sing.pretrained.__file__).resolve().parent / "gm.safetensors"


def _state(path: Path) -> tuple[bool, int]:
    return (path.exists(), path.stat().st_mtime_ns if path.exists() else 0)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One `sing experiment gm-model ... --install` run: its folder, the temporary package
    folder it installed into, the exit code and the mtimes of what it trained."""
    root = tmp_path_factory.mktemp("gm")
    out, package = root / "out", root / "package"
    package.mkdir()
    real_before = _state(REAL_SHIPPED)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sing.pretrained, "SHIPPED_MODEL", package / "gm.safetensors")
        code = main(["experiment", "gm-model", "--out", str(out), *TINY, "--install"])
    assert _state(REAL_SHIPPED) == real_before  # the real package is never written
    return {"out": out, "package": package, "code": code,
            "mtimes": {name: (out / name).stat().st_mtime_ns for name in TRAINED},
            "metrics": {name: (out / name).read_bytes() for name in METRICS}}


def _report(out: Path) -> dict:
    return json.loads((out / "gm-model.json").read_text(encoding="utf-8"))


def test_report_has_the_command_and_finite_metrics(experiment: dict) -> None:
    assert experiment["code"] == 0
    out = experiment["out"]
    report = _report(out)
    assert report["command"] == (
        f"sing experiment gm-model --out {out} --preset tiny --programs 0,40 --pitches 60-65 "
        "--duration 1 --hold 0.75 --epochs 1,1,1 --batch-size 16 --lr 0.0003 "
        "--checkpoint-every 10 --max-notes 8 --eval-notes 8 --install")
    # the command parses back into the same options
    args = build_parser().parse_args(shlex.split(report["command"])[1:])
    assert (args.programs, args.pitches, args.preset, args.epochs, args.max_notes,
            args.install) == ((0, 40), tuple(range(60, 66)), "tiny", (1, 1, 1), 8, True)
    md = (out / "gm-model.md").read_text(encoding="utf-8")
    assert report["command"] in md and "MIT" in md and "Frank Wen" in md

    data = report["data"]
    assert (data["programs"], data["pitches"]) == ([0, 40], list(range(60, 66)))
    assert (data["duration"], data["hold"], data["notes"]) == (1.0, 0.75, 60)
    assert data["split"] == {"train": 40, "valid": 10, "test": 10}
    assert data["soundfont"]["licence"] == "MIT" and data["soundfont"]["author"] == "Frank Wen"
    assert data["build"]["wall_s"] > 0

    heldout = report["heldout"]
    assert heldout["notes"] == 10 and heldout["weights"] == "float16"
    sing_, resample, truth = (heldout["overall"][s] for s in ("sing", "resample", "ground_truth"))
    for system in (sing_, resample):
        for metric in ("spectral_l1", "loud_l1", "pitch_accuracy"):
            assert math.isfinite(system[metric]), (metric, system)
    assert 0 < resample["spectral_l1"] < sing_["spectral_l1"] < 1  # one epoch: not yet resample
    assert 0 < resample["loud_l1"] < sing_["loud_l1"] < 20
    assert 0 <= sing_["pitch_accuracy"] <= 1
    assert truth["spectral_l1"] == 0 and truth["pitch_accuracy"] == 1.0
    families = heldout["families"]["sing"]
    assert set(families) == {"keyboard", "string"}
    assert sum(f["notes"] for f in families.values()) == 10
    assert f"{sing_['spectral_l1']:.4g}" in md and "| keyboard | 5 |" in md

    # the times are the trainer's metrics.jsonl figures
    training = report["training"]
    stages = {**stage_times(out / "run-autoencoder"), **stage_times(out / "run")}
    assert set(training["stages"]) == {"ae", "seq", "sing"}
    for stage in ("ae", "seq", "sing"):
        assert training["stages"][stage] == stages[stage]
        assert training["stages"][stage]["cpu_s"] > 0
    assert training["cpu_s"] == pytest.approx(sum(s["cpu_s"] for s in stages.values()), abs=1e-2)


def test_export_is_float16_with_hold_and_licence_and_renders(experiment: dict,
                                                             tmp_path: Path) -> None:
    import sing.api
    from sing.midi.pieces import CANON
    from sing.midi.render import model_hold, render_file
    from sing.models.io import load_model_file, read_info

    out = experiment["out"]
    export = out / EXPORT_FILE
    raw = export.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert dtypes == {"F16"}
    assert export.stat().st_size < 0.6 * (out / "run/model.safetensors").stat().st_size

    info = read_info(export)
    assert info.recipe["hold"] == 0.75 and info.vocabulary.extra["hold"] == 0.75
    assert info.recipe["soundfont"]["licence"] == "MIT"
    assert "Frank Wen" in info.recipe["licence"]
    # the command as run, with the paths inside OUT written from OUT's name on
    command = _report(out)["command"]
    assert str(out.resolve()) in command
    assert info.recipe["gm_model"]["command"] == command.replace(str(out.resolve()), out.name)
    assert str(out.parent.resolve()) not in json.dumps(info.recipe)  # no machine folder
    assert info.recipe["heldout"]["overall"]["sing"]["spectral_l1"] == pytest.approx(
        _report(out)["heldout"]["overall"]["sing"]["spectral_l1"])

    # the shipped weights are the trained ones rounded to float16
    trained, _ = load_model_file(out / "run/model.safetensors", kind="sing")
    model = sing.api.load_model(export)
    for (name, a), b in zip(trained.state_dict().items(), model.state_dict().values(),
                            strict=True):
        assert torch.equal(a.half().float(), b), name
    model.info = info
    assert model_hold(model) == 12000  # 0.75 s at 16 kHz, read from the file

    wav = render_file(export, CANON, tmp_path / "canon.wav")
    with wave.open(str(wav), "rb") as w:
        assert (w.getsampwidth(), w.getframerate(), w.getnchannels()) == (2, 16000, 1)
        assert 52.5 <= w.getnframes() / 16000 < 56


def test_install_copies_the_export_into_the_package_folder(experiment: dict) -> None:
    installed = experiment["package"] / "gm.safetensors"
    assert installed.read_bytes() == (experiment["out"] / EXPORT_FILE).read_bytes()
    assert _report(experiment["out"])["export"]["installed"] == str(installed)
    assert [p.name for p in experiment["package"].iterdir()] == ["gm.safetensors"]


def test_a_rerun_trains_nothing_again(experiment: dict) -> None:
    out = experiment["out"]
    before = _report(out)
    assert main(["experiment", "gm-model", "--out", str(out), *TINY]) == 0
    assert {name: (out / name).stat().st_mtime_ns for name in TRAINED} == experiment["mtimes"]
    assert {name: (out / name).read_bytes() for name in METRICS} == experiment["metrics"]
    after = _report(out)
    assert after["heldout"] == before["heldout"] and after["training"] == before["training"]
    assert after["command"] == before["command"].removesuffix(" --install")
    assert after["export"]["sha256"] != "" and "installed" not in after["export"]


def test_other_data_settings_are_refused(experiment: dict,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = experiment["out"]
    args = ["experiment", "gm-model", "--out", str(out), *TINY]
    args[args.index("60-65")] = "60-66"
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"sing: error: {out / 'data'}: holds a data set built with other settings "
                   "(pitches); remove it or use another --out")
    assert (out / "data/examples.json").stat().st_mtime_ns == experiment["mtimes"][
        "data/examples.json"]


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as f:
        f.truncate(MAX_SHIPPED_BYTES + 1)  # sparse: nothing is read before the size check
    target = tmp_path / "package" / "gm.safetensors"
    with pytest.raises(SingError, match=r"50.0 MB is over the 50 MB a shipped model may weigh"):
        install_model(big, target)
    assert not target.exists() and not target.parent.exists()


def test_bad_epochs_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["experiment", "gm-model", "--out", str(tmp_path / "x"), *TINY]
    args[args.index("1,1,1")] = "1,0,1"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "each at least 1" in err
    assert not (tmp_path / "x").exists()


def test_recipe_defaults_are_the_documented_ones() -> None:
    recipe = GmRecipe()
    assert len(recipe.programs) == 128 and (recipe.pitches[0], recipe.pitches[-1]) == (24, 96)
    assert (recipe.duration, recipe.hold, recipe.preset) == (1.0, 0.75, "small")
    assert recipe.command("gm").startswith(
        "sing experiment gm-model --out gm --preset small --programs all --pitches 24-96 "
        "--duration 1 --hold 0.75 --epochs 4,3,4 ")


def test_gm_continue_compares_exports_and_installs_only_a_better_model(
        experiment: dict, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A chain of two `sing train --init-model` runs from the experiment's model: `sing
    experiment gm-continue` evaluates both on every test pair, records the chain, exports
    float16 and installs only when better on every family (or with --force)."""
    from sing.data.nsynth import NSynthDataset
    from sing.models.io import load_model_file, read_info
    from sing.recipes.gm_continue import chain_of

    out = experiment["out"]
    base = out / EXPORT_FILE
    runs = [tmp_path / "c1", tmp_path / "c2"]
    init = base
    for run in runs:
        assert main(["train", "--data", str(out / "data"), "--preset", "tiny", "--stages",
                     "sing", "--init-model", str(init), "--epochs-sing", "1", "--max-notes",
                     "8", "--eval-notes", "8", "--lr", "1e-3", "--no-progress", "--out",
                     str(run)]) == 0
        init = run / "model.safetensors"
    assert chain_of(init) == runs
    package = tmp_path / "package"
    package.mkdir()
    cont = tmp_path / "cont"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sing.pretrained, "SHIPPED_MODEL", package / "gm.safetensors")
        code = main(["experiment", "gm-continue", "--model", str(init), "--data",
                     str(out / "data"), "--out", str(cont), "--install"])
        captured = capsys.readouterr()
        report = json.loads((cont / "gm-continue.json").read_text())
        assert report["better_everywhere"] == all(
            r["spectral_l1"][0] < r["spectral_l1"][1] and r["pitch_accuracy"][0]
            >= r["pitch_accuracy"][1] for r in report["comparison"].values())
        if report["better_everywhere"]:
            assert code == 0 and (package / "gm.safetensors").is_file()
        else:  # refused: one line, nothing installed; --force installs
            assert code == 2 and "not installed" in captured.err
            assert "Traceback" not in captured.err and not (package / "gm.safetensors").exists()
            assert main(["experiment", "gm-continue", "--model", str(init), "--data",
                         str(out / "data"), "--out", str(cont), "--install", "--force"]) == 0
        assert (package / "gm.safetensors").read_bytes() == (cont / EXPORT_FILE).read_bytes()
    test_notes = len(NSynthDataset(out / "data", split="test"))
    assert report["heldout"]["notes"] == test_notes
    assert set(report["comparison"]) >= {"overall", "keyboard", "string"}
    # the base was evaluated on the same notes as the new model, from its own file
    base_results = json.loads((cont / "heldout-base.json").read_text())["results"]
    assert (report["comparison"]["overall"]["spectral_l1"][1]
            == base_results["systems"]["sing"]["overall"]["spectral_l1"])
    info = read_info(cont / EXPORT_FILE)
    assert info.recipe["gm_model"] == read_info(base).recipe["gm_model"]
    continued = info.recipe["continued"]
    assert len(continued) == 2 and all(r["cpu_s"] > 0 for r in continued)
    for entry, start in zip(continued, (base, runs[0] / "model.safetensors"), strict=True):
        args = build_parser().parse_args(shlex.split(entry["command"])[1:])
        # paths written from their folder's name on (no folder of this machine)
        assert str(args.init_model).endswith(f"{start.parent.name}/{start.name}")
        assert not args.init_model.is_absolute()
        assert (args.stages, args.epochs_sing) == ("sing", 1)
    model, _ = load_model_file(cont / EXPORT_FILE)
    trained, _ = load_model_file(init)
    for (name, a), b in zip(model.state_dict().items(), trained.state_dict().values(),
                            strict=True):  # the export is the last run's weights in float16
        assert torch.equal(a, b.to(torch.float16).to(a.dtype)), name
    assert main(["info", str(cont / EXPORT_FILE)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("then: sing train") == 2
    assert str(tmp_path) not in json.dumps(info.recipe)  # no folder of this machine
