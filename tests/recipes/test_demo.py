"""`sing demo --quick` end to end, then evaluate / report / Table 1 / Chromium on what it built."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from sing.cli import main


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of one `sing demo --quick` run (data-quick, run-quick, report-quick)."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    return out


def _metrics(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_demo_quick_end_to_end(quick_demo: Path, capsys: pytest.CaptureFixture) -> None:
    index = quick_demo / "report-quick" / "index.html"
    assert index.is_file()
    results = _metrics(quick_demo / "report-quick" / "metrics.json")
    systems = results["systems"]
    assert list(systems) == ["sing", "resample", "ground_truth"]
    split = json.loads((quick_demo / "data-quick" / "split.json").read_text())["splits"]
    assert systems["sing"]["overall"]["notes"] == len(split["test"]) > 0
    assert set(systems["sing"]["families"]) == {"keyboard", "string", "flute"}
    # the ceiling: the pitch of real held-out notes is measured right
    assert systems["ground_truth"]["overall"]["pitch_accuracy"] >= 0.8
    assert systems["ground_truth"]["overall"]["spectral_l1"] == 0.0
    # the sampler reference is close to the truth and far better than an untrained guess
    assert systems["resample"]["overall"]["pitch_accuracy"] >= 0.8
    assert 0 < systems["resample"]["overall"]["spectral_l1"] < systems["sing"]["overall"][
        "spectral_l1"]
    page = index.read_text(encoding="utf-8")
    # 3 families x (truth, SING, resample) + 5 new instruments + the bundled piece played by
    # the shipped model and by the demo's own
    assert page.count("<audio") == 3 * 3 + 5 + 2
    assert "Canon in D (bundled MIDI file), played by the shipped General MIDI model" in page
    assert "Canon in D (bundled MIDI file), played by the demo&#x27;s model" in page
    assert (quick_demo / "piece-quick.wav").is_file()
    assert (quick_demo / "piece-gm-quick.wav").is_file()
    assert "Training curves" in page and "t-SNE" in page and "New instruments" in page
    assert not re.search(r"src=\"(https?:|/)", page)  # self-contained


def test_demo_second_run_reuses_everything(quick_demo: Path) -> None:
    model = quick_demo / "run-quick" / "model.safetensors"
    index = quick_demo / "report-quick" / "index.html"
    before = (model.stat().st_mtime_ns, index.stat().st_mtime_ns)
    assert main(["demo", "--quick", "--out", str(quick_demo)]) == 0
    assert (model.stat().st_mtime_ns, index.stat().st_mtime_ns) == before


def test_report_loads_in_headless_chromium(quick_demo: Path, tmp_path: Path) -> None:
    from sing.evaluation.browser import check_page

    result = check_page(quick_demo / "report-quick" / "index.html")
    assert result.console_errors == []
    assert result.failed_media == []
    kinds = [m["kind"] for m in result.media]
    assert kinds.count("audio") == 16
    durations = sorted(m["duration"] for m in result.media if m["kind"] == "audio")
    assert durations[-2] > 45  # the piece, twice
    assert kinds.count("img") == 14 + 2 + 1  # a spectrogram per sound, 2 runs of curves, t-SNE
    assert all(m["duration"] > 0.4 for m in result.media if m["kind"] == "audio")
    assert result.screenshot_std > 5.0 and result.ok
    # the check can fail: a missing sound, a broken image and a script error are all caught
    broken = tmp_path / "broken.html"
    page = (quick_demo / "report-quick" / "index.html").read_text(encoding="utf-8")
    page = page.replace('src="data:audio/wav', 'src="missing.wav" data-x="', 1)
    page = page.replace('src="data:image/png', 'src="missing.png" data-x="', 1)
    page = page.replace("</body>", "<script>undefinedFunction();</script></body>")
    broken.write_text(page, encoding="utf-8")
    bad = check_page(broken)
    assert not bad.ok
    assert {m["kind"] for m in bad.failed_media} == {"audio", "img"}
    assert any("undefinedFunction" in e for e in bad.console_errors)


def test_evaluate_cli_writes_json_and_markdown(quick_demo: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "metrics.json"
    rc = main(["evaluate", "--model", str(quick_demo / "run-quick" / "model.safetensors"),
               "--data", str(quick_demo / "data-quick"), "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| SING |" in printed and "### Per family" in printed
    ours = _metrics(out)
    report = _metrics(quick_demo / "report-quick" / "metrics.json")
    for system in ("sing", "resample", "ground_truth"):
        for key in ("spectral_l1", "wav_mse", "pitch_accuracy"):
            assert ours["systems"][system]["overall"][key] == pytest.approx(
                report["systems"][system]["overall"][key], rel=1e-5)
    assert len(ours["notes"]) == 3 * ours["systems"]["sing"]["overall"]["notes"]
    assert out.with_suffix(".md").read_text().startswith("## model.safetensors on test")


def test_evaluate_errors_are_one_line(quick_demo: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nope.safetensors"
    assert main(["evaluate", "--model", str(missing), "--data",
                 str(quick_demo / "data-quick")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sing: error: ") and str(missing) in err and "\n" not in err
    # a model asked about instruments it never learnt
    other = tmp_path / "other"
    shutil.copytree(quick_demo / "data-quick", other)
    examples = json.loads((other / "examples.json").read_text())
    renamed = {}
    for name, meta in examples.items():
        meta = {**meta, "instrument_str": meta["instrument_str"] + "x"}
        new = name.replace(meta["instrument_str"][:-1], meta["instrument_str"], 1)
        meta["note_str"] = new
        renamed[new] = meta
        (other / "audio" / f"{name}.wav").rename(other / "audio" / f"{new}.wav")
    (other / "examples.json").write_text(json.dumps(renamed))
    (other / "split.json").unlink()
    assert main(["dataset", "split", str(other)]) == 0
    assert main(["evaluate", "--model", str(quick_demo / "run-quick" / "model.safetensors"),
                 "--data", str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "it was trained on another data set or split" in err  # refused first
    assert main(["evaluate", "--model", str(quick_demo / "run-quick" / "model.safetensors"),
                 "--data", str(other), "--allow-other-data"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "was not trained on instrument" in err and str(other) in err


def test_report_cli_from_a_run(quick_demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["report", "--run", str(quick_demo / "run-quick"), "--out", str(out),
                 "--limit", "3"]) == 0
    results = _metrics(out / "metrics.json")
    assert results["systems"]["sing"]["overall"]["notes"] == 3
    assert (out / "index.html").read_text().count("<audio") == 14  # showcase notes still there
    assert main(["report", "--out", str(out)]) == 2  # neither --run nor --model


def test_table1_tiny(quick_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "table1"
    rc = main(["experiment", "table1", "--data", str(quick_demo / "data-quick"), "--preset",
               "tiny", "--out", str(out), "--epochs", "1,1,1", "--train-subset", "8",
               "--batch-size", "8", "--lr", "1e-3", "--max-notes", "16", "--warm-start",
               "--ae-lr", "5e-4", "--seeds", "3,4"])
    assert rc == 0
    printed = capsys.readouterr().out
    from sing.models.io import load_model_file, read_info

    for seed in (3, 4):
        # --warm-start: the spectral run's autoencoder started from the waveform run's
        run = out / f"seed-{seed}"
        recipe = read_info(run / "spectral-ae" / "autoencoder.safetensors").recipe
        assert recipe["init_autoencoder"] == str(run / "wav-ae" / "autoencoder.safetensors")
        assert (recipe["seed"], recipe["lr"], recipe["stages"]) == (seed, 5e-4, ["ae"])
        later = read_info(run / "spectral" / "model.safetensors").recipe
        assert (later["seed"], later["lr"], later["stages"]) == (seed, 1e-3, ["seq", "sing"])
        assert later["init_autoencoder"] == str(run / "spectral-ae" / "autoencoder.safetensors")
        result = json.loads((run / "table1.json").read_text())
        assert set(result["rows"]) == {"ae_wav", "sing_wav", "ae_spectral", "sing_spectral",
                                       "sing_no_time"}
        for row in result["rows"].values():
            assert 0 < row["spectral_test"] < 10 and row["wav_mse_test"] >= 0
        assert result["warm_start"] is True and result["seed"] == seed
        assert "warm-started from the waveform one" in (run / "table1.md").read_text()
    # the seed changes the initialisation: the two seeds' models differ
    a, _ = load_model_file(out / "seed-3" / "wav-ae" / "autoencoder.safetensors")
    b, _ = load_model_file(out / "seed-4" / "wav-ae" / "autoencoder.safetensors")
    assert any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                     b.state_dict().values(), strict=True))
    combined = json.loads((out / "table1.json").read_text())
    assert combined["seeds"] == [3, 4] and len(combined["runs"]) == 2
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "/" in line]
    assert [r.split(" | ")[0] for r in rows] == ["| Autoencoder", "| SING", "| Autoencoder",
                                                 "| SING", "| SING without time embedding"]
    cells = {r.split(" | ")[0] + r.split(" | ")[1]: r.split(" | ") for r in rows}
    runs = combined["runs"]
    sing = cells["| SINGspectral"]
    values = [r["rows"]["sing_spectral"]["spectral_test"] for r in runs]
    assert sing[2] == " / ".join(f"{v:.4f}" for v in values)
    assert sing[3] == f"{sum(values) / 2:.4f}"
    assert printed.count("the paper's ordering") == 2
    assert "seed 3: the paper's ordering" in printed
    # a rerun reuses both seeds' tables (nothing trained or evaluated again)
    stamps = {s: (out / f"seed-{s}" / "table1.json").stat().st_mtime_ns for s in (3, 4)}
    assert main(["experiment", "table1", "--data", str(quick_demo / "data-quick"), "--preset",
                 "tiny", "--out", str(out), "--epochs", "1,1,1", "--train-subset", "8",
                 "--batch-size", "8", "--lr", "1e-3", "--max-notes", "16", "--warm-start",
                 "--ae-lr", "5e-4", "--seeds", "3,4"]) == 0
    assert capsys.readouterr().out == printed
    assert stamps == {s: (out / f"seed-{s}" / "table1.json").stat().st_mtime_ns for s in (3, 4)}


@pytest.mark.parametrize("text", ["1,x", "3,3", "-1", ""])
def test_table1_refuses_bad_seeds(quick_demo: Path, tmp_path: Path, text: str,
                                  capsys: pytest.CaptureFixture) -> None:
    rc = main(["experiment", "table1", "--data", str(quick_demo / "data-quick"), "--out",
               str(tmp_path / "t"), "--seeds", text])
    err = capsys.readouterr().err
    assert rc == 2 and "--seeds" in err and "Traceback" not in err
    assert not (tmp_path / "t").exists()


def test_demo_summary_names_both_references(quick_demo: Path) -> None:
    from sing.recipes.demo import demo_summary

    metrics = quick_demo / "report-quick" / "metrics.json"
    systems = _metrics(metrics)["systems"]
    line = demo_summary(metrics)
    sing, resample = systems["sing"]["overall"], systems["resample"]["overall"]
    assert f"SING {sing['spectral_l1']:.4f}, resample {resample['spectral_l1']:.4f}" in line
    ratio = sing["spectral_l1"] / resample["spectral_l1"]
    assert f"(SING is {ratio:.1f}x resample's)" in line
    truth = systems["ground_truth"]["overall"]["pitch_accuracy"]
    assert f"ground truth {100 * truth:.0f}%" in line
