"""The paper's Table 1 in one command: five models trained and evaluated, beside the paper's.

Rows (Défossez et al. 2018, Table 1): the autoencoder and SING trained with the waveform loss,
the autoencoder and SING trained with the spectral loss, and SING without time embedding.
Five training runs give the five models: per loss (waveform, spectral), a stage-1 run
(``OUT/{loss}-ae``, the autoencoder, with stage 1's own learning rate and batch size) and a
stages-2-3 run from it (``OUT/{loss}``, SING); and a run without time embedding that starts
from the spectral autoencoder (stages 2 and 3 only), as in the paper's ablation. Every
spectral-loss autoencoder leaves the silence plateau the same way: `sing train`'s default
stage-1 recipe (waveform warm-up + anchor, :mod:`sing.training.losses`). ``seeds`` repeats the
whole table once per seed (``OUT/seed-N``) and writes one table of every seed's figures.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sing.errors import SingError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One row of Table 1 and the paper's numbers (None: not reported)."""

    key: str
    model: str
    loss: str
    spectral_train: float
    spectral_test: float
    wav_mse_train: float | None
    wav_mse_test: float | None


PAPER_ROWS: tuple[Row, ...] = (
    Row("ae_wav", "Autoencoder", "waveform", 0.026, 0.028, 0.0002, 0.0003),
    Row("sing_wav", "SING", "waveform", 0.075, 0.084, 0.006, 0.039),
    Row("ae_spectral", "Autoencoder", "spectral", 0.028, 0.032, None, None),
    Row("sing_spectral", "SING", "spectral", 0.039, 0.051, None, None),
    Row("sing_no_time", "SING without time embedding", "spectral", 0.050, 0.063, None, None),
)
#: The paper's ordering on spectral test loss.
PAPER_ORDER: tuple[str, ...] = ("ae_spectral", "sing_spectral", "sing_no_time", "sing_wav")
#: Default epochs (autoencoder, sequence generator, SING) per preset.
DEFAULT_EPOCHS: dict[str, tuple[int, int, int]] = {
    "tiny": (1, 1, 1), "small": (4, 8, 2), "paper": (50, 50, 20),
}
DEFAULT_TRAIN_SUBSET = 256


def _no_time_autoencoder(source: Path, target: Path) -> Path:
    """Copy the autoencoder file ``source`` with ``time_embedding`` off in its config (the
    autoencoder has no time embedding; the flag only has to match the SING it seeds)."""
    from sing.models.autoencoder import Autoencoder
    from sing.models.io import load_model_file, save_model

    model, info = load_model_file(source, kind="autoencoder")
    copy = Autoencoder(info.config.replace(time_embedding=False), vocabulary=info.vocabulary)
    copy.load_state_dict(model.state_dict())
    return save_model(target, copy, info.vocabulary, {**info.recipe, "time_embedding": False})


def run_table1(
    data: Path,
    preset: str,
    out: Path,
    epochs: tuple[int, int, int] | None = None,
    batch_size: int | None = None,
    train_subset: int | None = None,
    device: str = "cpu",
    lr: float = 3e-4,
    max_notes: int | None = None,
    progress: bool = True,
    warm_start: bool = False,
    seed: int = 42,
    ae_lr: float | None = None,
    ae_batch_size: int | None = None,
) -> str:
    """Train the three runs, evaluate the five models, write ``out/table1.{md,json}``.

    Returns the Markdown table (ours beside the paper's). Runs already finished in ``out`` are
    reused (training resumes from checkpoints). ``max_notes`` trains on a seeded subset of that
    many notes of each split (the evaluation still uses the whole test split).
    ``warm_start`` starts the spectral-loss autoencoder from the waveform-loss one instead of
    from scratch (the demo's recipe: at CPU scale, a small autoencoder trained from scratch on
    the spectral loss falls into silence, a stationary point of log(1 + |STFT|^2)).
    ``seed`` seeds the initialisation and the data order of every run (the split is the data
    folder's); ``ae_lr`` / ``ae_batch_size`` are stage 1's (default: ``lr`` / ``batch_size``).
    """
    from sing.data.nsynth import NSynthDataset
    from sing.evaluation.evaluator import evaluate_model
    from sing.models.io import load_model_file
    from sing.training.config import TrainConfig
    from sing.training.trainer import train

    data, out = Path(data), Path(out)
    if preset not in DEFAULT_EPOCHS and epochs is None:
        raise SingError(f"unknown preset '{preset}' (valid: {', '.join(DEFAULT_EPOCHS)})")
    epochs = epochs or DEFAULT_EPOCHS[preset]
    subset = train_subset or DEFAULT_TRAIN_SUBSET
    started = time.monotonic()
    common: dict[str, Any] = dict(
        data=data, preset=preset, lr=lr, device=device, progress=progress, seed=seed,
        eval_notes=min(64, max_notes or 64), max_notes=max_notes,
    )
    if batch_size is not None:
        common["batch_size"] = batch_size
    stage1 = {**common, "epochs_ae": epochs[0], "stages": ("ae",)}
    if ae_lr is not None:
        stage1["lr"] = ae_lr
    if ae_batch_size is not None:
        stage1["batch_size"] = ae_batch_size
    later = {**common, "epochs_seq": epochs[1], "epochs_sing": epochs[2],
             "stages": ("seq", "sing")}
    logger.info(f"table1 (seed {seed}): run 1/5, waveform-loss autoencoder -> {out / 'wav-ae'}")
    train(TrainConfig(out=out / "wav-ae", loss="wav", **stage1))
    logger.info(f"table1 (seed {seed}): run 2/5, waveform-loss SING -> {out / 'wav'}")
    train(TrainConfig(out=out / "wav", loss="wav",
                      init_autoencoder=out / "wav-ae" / "autoencoder.safetensors", **later))
    logger.info(f"table1 (seed {seed}): run 3/5, spectral-loss autoencoder -> "
                f"{out / 'spectral-ae'}")
    warm = out / "wav-ae" / "autoencoder.safetensors" if warm_start else None
    train(TrainConfig(out=out / "spectral-ae", loss="spectral", init_autoencoder=warm,
                      **stage1))
    spectral_ae = out / "spectral-ae" / "autoencoder.safetensors"
    logger.info(f"table1 (seed {seed}): run 4/5, spectral-loss SING -> {out / 'spectral'}")
    train(TrainConfig(out=out / "spectral", loss="spectral", init_autoencoder=spectral_ae,
                      **later))
    seed_ae = _no_time_autoencoder(spectral_ae, out / "no_time_init" / "autoencoder.safetensors")
    logger.info(f"table1 (seed {seed}): run 5/5, spectral loss without time embedding -> "
                f"{out / 'no_time'}")
    train(TrainConfig(out=out / "no_time", loss="spectral", time_embedding=False,
                      init_autoencoder=seed_ae, **later))
    trained = time.monotonic()

    files = {
        "ae_wav": out / "wav-ae" / "autoencoder.safetensors",
        "sing_wav": out / "wav" / "model.safetensors",
        "ae_spectral": spectral_ae,
        "sing_spectral": out / "spectral" / "model.safetensors",
        "sing_no_time": out / "no_time" / "model.safetensors",
    }
    train_set = NSynthDataset(data, split="train")
    test_set = NSynthDataset(data, split="test")
    ours: dict[str, dict[str, float]] = {}
    for row in PAPER_ROWS:
        model, _ = load_model_file(files[row.key], device=device)
        logger.info(f"table1: evaluating {row.model} ({row.loss} loss)")
        on_train = evaluate_model(model, train_set, None, device=device, limit=subset,
                                  progress=progress)
        on_test = evaluate_model(model, test_set, None, device=device, progress=progress)
        system = on_test.results["meta"]["system"]
        tr = on_train.results["systems"][system]["overall"]
        te = on_test.results["systems"][system]["overall"]
        truth = on_test.results["systems"]["ground_truth"]["overall"]
        ours[row.key] = {
            "spectral_train": tr["spectral_l1"], "spectral_test": te["spectral_l1"],
            "wav_mse_train": tr["wav_mse"], "wav_mse_test": te["wav_mse"],
            "pitch_accuracy_test": te["pitch_accuracy"],
            "ground_truth_pitch_accuracy_test": truth["pitch_accuracy"],
        }
    elapsed = time.monotonic() - started
    result = {
        "data": str(data), "preset": preset, "epochs": list(epochs), "train_subset": subset,
        "lr": lr, "batch_size": batch_size, "max_notes": max_notes, "warm_start": warm_start,
        "seed": seed, "ae_lr": ae_lr if ae_lr is not None else lr,
        "ae_batch_size": ae_batch_size if ae_batch_size is not None else batch_size,
        "train_notes": len(train_set), "test_notes": len(test_set),
        "seconds": round(elapsed, 1), "training_seconds": round(trained - started, 1),
        "rows": ours, "order_holds": ordering_holds(ours),
    }
    text = table1_markdown(result)
    from sing.evaluation.tables import to_jsonable
    from sing.utils.atomic import atomic_write_text

    atomic_write_text(out / "table1.json", json.dumps(to_jsonable(result), indent=2) + "\n")
    atomic_write_text(out / "table1.md", text)
    return text


def ordering_holds(rows: dict[str, dict[str, float]]) -> bool:
    """Whether spectral test loss follows the paper: AE < SING < SING-no-time < SING-wav."""
    values = [rows[k]["spectral_test"] for k in PAPER_ORDER]
    return all(a < b for a, b in zip(values, values[1:], strict=False))


def _cell(value: float | None, digits: str = ".4f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, digits)


def table1_markdown(result: dict[str, Any]) -> str:
    """Table 1 in the paper's form, ours beside the paper's numbers (``ours / paper``)."""
    rows = result["rows"]
    lines = [
        f"Table 1 ({result['preset']} preset, epochs ae/seq/sing {result['epochs']}, "
        f"{result['train_notes']} train / {result['test_notes']} test notes, train columns on "
        f"{min(result['train_subset'], result['train_notes'])} train notes; "
        f"{result['seconds']:.0f} s"
        + ("; spectral autoencoder warm-started from the waveform one" if result.get(
            "warm_start") else "")
        + "). Cells: ours / paper.",
        "",
        "| Model | training loss | spectral train | spectral test | wav MSE train | "
        "wav MSE test | pitch acc. test |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in PAPER_ROWS:
        o = rows[row.key]
        lines.append(
            f"| {row.model} | {row.loss} | {_cell(o['spectral_train'])} / {row.spectral_train} | "
            f"{_cell(o['spectral_test'])} / {row.spectral_test} | "
            f"{_cell(o['wav_mse_train'], '.5f')} / {_cell(row.wav_mse_train, 'g')} | "
            f"{_cell(o['wav_mse_test'], '.5f')} / {_cell(row.wav_mse_test, 'g')} | "
            f"{100 * o['pitch_accuracy_test']:.0f}% |"
        )
    order = " < ".join(f"{k} {rows[k]['spectral_test']:.4f}" for k in
                       sorted(PAPER_ORDER, key=lambda k: rows[k]["spectral_test"]))
    verdict = "holds" if result["order_holds"] else "does NOT hold"
    lines += ["", f"Paper's ordering on spectral test loss (AE < SING < SING without time "
              f"embedding < SING wav loss) {verdict}; ours: {order}."]
    return "\n".join(lines) + "\n"


def run_table1_seeds(seeds: tuple[int, ...], out: Path, **kwargs: Any) -> str:
    """Table 1 once per seed (``out/seed-N``, each with its own ``table1.{md,json}``), then one
    table of every seed's figures and their mean in ``out/table1.{md,json}``; returns it.

    ``kwargs`` are :func:`run_table1`'s. One seed is :func:`run_table1` into ``out`` itself.
    """
    from sing.evaluation.tables import to_jsonable
    from sing.utils.atomic import atomic_write_text

    out = Path(out)
    if len(seeds) == 1:
        return run_table1(out=out, seed=seeds[0], **kwargs)
    if len(set(seeds)) != len(seeds):
        raise SingError(f"--seeds repeats a seed: {','.join(map(str, seeds))}")
    results = []
    for seed in seeds:
        folder = out / f"seed-{seed}"
        done = _finished_table(folder, seed, kwargs)
        if done is None:
            run_table1(out=folder, seed=seed, **kwargs)
            done = json.loads((folder / "table1.json").read_text())
        else:
            logger.info(f"table1: seed {seed} reused ({folder / 'table1.json'})")
        results.append(done)
    combined = {"seeds": list(seeds), "runs": results,
                "order_holds": [r["order_holds"] for r in results]}
    text = table1_seeds_markdown(combined)
    atomic_write_text(out / "table1.json", json.dumps(to_jsonable(combined), indent=2) + "\n")
    atomic_write_text(out / "table1.md", text)
    return text


def _finished_table(folder: Path, seed: int, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The ``table1.json`` of a seed's folder when it is newer than every model it scores and
    was made with the same settings (else None: train what is missing and evaluate again)."""
    path = folder / "table1.json"
    try:
        result = json.loads(path.read_text())
        models = [folder / run / name for run, name in (
            ("wav-ae", "autoencoder.safetensors"), ("wav", "model.safetensors"),
            ("spectral-ae", "autoencoder.safetensors"), ("spectral", "model.safetensors"),
            ("no_time", "model.safetensors"))]
        if any(m.stat().st_mtime_ns > path.stat().st_mtime_ns for m in models):
            return None
    except (OSError, ValueError):
        return None
    same = (result.get("seed") == seed and result.get("preset") == kwargs.get("preset")
            and str(result.get("data")) == str(kwargs.get("data"))
            and (kwargs.get("epochs") is None or list(kwargs["epochs"]) == result.get("epochs")))
    return result if same else None


def table1_seeds_markdown(combined: dict[str, Any]) -> str:
    """Several seeds' Table 1 in one table: each seed's spectral test loss and pitch accuracy,
    their mean, and whether the paper's ordering holds for each seed."""
    runs, seeds = combined["runs"], combined["seeds"]
    first = runs[0]
    tag = " / ".join(f"seed {s}" for s in seeds)
    lines = [
        f"Table 1 over {len(seeds)} seeds ({first['preset']} preset, epochs ae/seq/sing "
        f"{first['epochs']}, {first['train_notes']} train / {first['test_notes']} test notes; "
        f"{sum(r['seconds'] for r in runs):.0f} s). Cells: {tag}; mean; paper.",
        "",
        "| Model | training loss | spectral test | mean | paper | spectral train (mean) | "
        "pitch acc. test |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in PAPER_ROWS:
        test = [r["rows"][row.key]["spectral_test"] for r in runs]
        train = [r["rows"][row.key]["spectral_train"] for r in runs]
        pitch = [r["rows"][row.key]["pitch_accuracy_test"] for r in runs]
        lines.append(
            f"| {row.model} | {row.loss} | {' / '.join(_cell(v) for v in test)} | "
            f"{_cell(sum(test) / len(test))} | {row.spectral_test} | "
            f"{_cell(sum(train) / len(train))} | "
            f"{' / '.join(f'{100 * v:.0f}%' for v in pitch)} |")
    lines.append("")
    for seed, r in zip(seeds, runs, strict=True):
        rows = r["rows"]
        order = " < ".join(f"{k} {rows[k]['spectral_test']:.4f}" for k in
                           sorted(PAPER_ORDER, key=lambda k: rows[k]["spectral_test"]))
        verdict = "holds" if r["order_holds"] else "does NOT hold"
        lines.append(f"- seed {seed}: the paper's ordering {verdict}; ours: {order}.")
    return "\n".join(lines) + "\n"
