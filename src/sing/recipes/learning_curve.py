"""A learning curve over model sizes: held-out quality against CPU minutes (``sing experiment
curve``).

Each preset gets one full training run (the three stages) into ``OUT/<preset>/`` with the same
data and options, then its final model is evaluated on the held-out test pairs (the whole test
split, beside the resample reference, the ground truth and silence). Written to ``OUT``:

- ``learning_curve.png``: left, the valid spectral L1 of every epoch against the cumulative
  process-CPU minutes of the run's training steps (the ``cpu_s`` of ``metrics.jsonl``; the
  stages follow each other, so stage k continues where stage k-1 ended), one line per preset,
  stage ends marked; right, the final held-out test spectral L1 against the total CPU minutes,
  with the resample reference and silence as horizontal lines.
- ``learning_curve.md`` (the table) and ``learning_curve.json`` (everything, curves included).

CPU minutes count the process CPU time of the optimizer steps (all threads), not the
per-epoch evaluations nor the frame cache of stage 2, so runs trained side by side
(``parallel``, one thread each) and alone (several threads) compare. Rerunning reuses the
finished runs (the trainer resumes or returns at once) and the cached held-out evaluations
(``OUT/<preset>/heldout.json``, keyed by the model file and the test notes).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from sing.errors import SingError
from sing.recipes.table1 import DEFAULT_EPOCHS

logger = logging.getLogger(__name__)

#: Default epochs per stage (autoencoder, sequence generator, SING): the same for every preset
#: (``sing experiment table1``'s ``small`` recipe).
DEFAULT_CURVE_EPOCHS: tuple[int, int, int] = DEFAULT_EPOCHS["small"]
#: Files written into the experiment folder.
PNG_FILE = "learning_curve.png"
MARKDOWN_FILE = "learning_curve.md"
JSON_FILE = "learning_curve.json"
#: The held-out evaluation cached in each run folder.
#: Bump when the cached evaluation's content changes (older caches are then recomputed).
#: Systems of the evaluator kept per preset: the model, and the two references.
_REFERENCES = ("resample", "ground_truth")
_STAGE_MARKERS = {"ae": "o", "seq": "s", "sing": "^"}


def parse_presets(text: str | None) -> list[str]:
    """``"tiny,small,medium"`` -> the preset names, checked against
    :data:`sing.models.config.PRESETS` (one-line :class:`SingError` when empty, unknown or
    repeated)."""
    from sing.models.config import PRESETS

    names = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not names:
        raise SingError(f"--presets: no preset given (e.g. --presets {','.join(PRESETS)})")
    for name in names:
        if name not in PRESETS:
            raise SingError(f"--presets: unknown preset '{name}' (valid: {', '.join(PRESETS)})")
        if names.count(name) > 1:
            raise SingError(f"--presets: preset '{name}' given twice")
    return names


def run_learning_curve(
    data: Path,
    presets: list[str],
    out: Path,
    epochs: tuple[int, int, int] | None = None,
    batch_size: int | None = None,
    lr: float = 3e-4,
    device: str = "cpu",
    max_notes: int | None = None,
    parallel: int = 1,
    paper_recipe: bool = False,
    eval_notes: int = 256,
    progress: bool = True,
) -> str:
    """Train every preset of ``presets`` on ``data``, evaluate, plot and table the curve.

    ``epochs`` (AE, SEQ, SING; default :data:`DEFAULT_CURVE_EPOCHS`), ``batch_size``, ``lr``,
    ``max_notes`` (a seeded subset of that many notes of each split for training; the held-out
    evaluation uses the whole test split) and the stage-1 recipe (the ``sing train`` default
    warm-up and waveform anchor, or none with ``paper_recipe``) are the same for every preset.
    ``parallel`` runs that many trainings at once in child processes of one thread each.
    ``eval_notes`` bounds the valid notes evaluated after each epoch (the curve's y).
    Returns the Markdown table (also written to ``out``).
    """
    from sing.data.nsynth import NSynthDataset
    from sing.training.config import DEFAULT_AE_WARMUP, DEFAULT_AE_WAV_WEIGHT
    from sing.utils.atomic import check_folder_path, make_folder

    data, out = Path(data), Path(out)
    presets = parse_presets(",".join(presets))
    epochs = tuple(epochs) if epochs is not None else DEFAULT_CURVE_EPOCHS
    if len(epochs) != 3 or min(epochs) < 0 or sum(epochs) == 0:
        raise SingError(f"--epochs wants three counts AE,SEQ,SING, not all 0: {epochs}")
    if parallel < 1:
        raise SingError(f"--parallel must be 1 or more processes, not {parallel}")
    if not data.is_dir():
        raise SingError("no such data set folder" if not data.exists() else "not a folder", data)
    test_set = NSynthDataset(data, split="test")  # bad data: one line before any training
    train_set = NSynthDataset(data, split="train")
    if len(test_set) == 0:
        raise SingError("the split has no test notes (nothing held out to evaluate)",
                        data / "split.json")
    check_folder_path(out)
    make_folder(out)
    ae_warmup, ae_wav_weight = (0, 0.0) if paper_recipe else (DEFAULT_AE_WARMUP,
                                                              DEFAULT_AE_WAV_WEIGHT)
    options: dict[str, Any] = dict(
        data=str(data), epochs_ae=epochs[0], epochs_seq=epochs[1], epochs_sing=epochs[2],
        lr=lr, device=device, max_notes=max_notes, ae_warmup=ae_warmup,
        ae_wav_weight=ae_wav_weight, eval_notes=eval_notes,
    )
    if batch_size is not None:
        options["batch_size"] = batch_size

    train_runs(presets, out, options, parallel=parallel, progress=progress)

    runs: dict[str, dict[str, Any]] = {}
    for preset in presets:
        run = run_summary(out / preset)
        run["heldout"] = heldout_evaluation(out / preset, test_set, train_set, device,
                                            progress=progress and parallel == 1)
        runs[preset] = run
    first = runs[presets[0]]["heldout"]
    references = {name: first[name] for name in _REFERENCES}
    references["silence"] = silence_metrics(test_set)
    from sing.training.config import TrainConfig

    result: dict[str, Any] = {
        "data": str(data), "presets": presets, "epochs": list(epochs),
        "batch_size": batch_size if batch_size is not None else TrainConfig.batch_size,
        "lr": lr, "max_notes": max_notes, "paper_recipe": paper_recipe,
        "ae_warmup": ae_warmup, "ae_wav_weight": ae_wav_weight, "parallel": parallel,
        "device": device, "train_notes": len(train_set), "test_notes": len(test_set),
        "runs": runs, "references": references,
    }
    from sing.evaluation.tables import to_jsonable
    from sing.utils.atomic import atomic_write_bytes, atomic_write_text

    text = curve_markdown(result)
    atomic_write_bytes(out / PNG_FILE, curve_png(result))
    atomic_write_text(out / JSON_FILE, json.dumps(to_jsonable(result), indent=2) + "\n")
    atomic_write_text(out / MARKDOWN_FILE, text)
    logger.info(f"learning curve: wrote {out / PNG_FILE}, {out / MARKDOWN_FILE}, "
                f"{out / JSON_FILE}")
    return text


# -- training ----------------------------------------------------------------------------------
def train_runs(presets: list[str], out: Path, options: dict[str, Any], parallel: int = 1,
               progress: bool = True) -> None:
    """One training run per preset into ``out/<preset>`` with ``options`` (TrainConfig fields);
    ``parallel`` > 1 runs them in that many child processes of one thread each."""
    if parallel == 1 or len(presets) == 1:
        for i, preset in enumerate(presets, start=1):
            logger.info(f"learning curve: run {i}/{len(presets)}, preset {preset} -> "
                        f"{out / preset}")
            _train_preset(preset, out, options, progress=progress)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = min(parallel, len(presets))
    logger.info(f"learning curve: training {', '.join(presets)} in {workers} processes of "
                "one thread each")
    level = logging.getLogger().getEffectiveLevel()
    context = multiprocessing.get_context("spawn")  # no fork of a threaded torch
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_child_setup, initargs=(level,)) as pool:
        futures = {preset: pool.submit(_train_child, preset, str(out), options)
                   for preset in presets}
        outcomes = {preset: future.result() for preset, future in futures.items()}
    _raise_outcomes(outcomes, out)


def _train_preset(preset: str, out: Path, options: dict[str, Any], progress: bool) -> Path:
    from sing.training.config import TrainConfig
    from sing.training.trainer import train

    return train(TrainConfig(out=out / preset, preset=preset, progress=progress, **options))


def _stop_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (a killed ``sing experiment
    curve`` must not leave its runs training as orphans); the trainer then checkpoints and
    stops. Elsewhere (no ``prctl``) this does nothing."""
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return


def _child_setup(level: int) -> None:
    """Start of a training child process: one thread, the parent's log level, and SIGTERM
    when the parent dies."""
    _stop_with_parent()
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=level, format="%(message)s")


def _train_child(preset: str, out: str, options: dict[str, Any]) -> dict[str, Any]:
    """Train ``preset`` in a child process; errors come back as plain values (our exceptions
    do not pickle)."""
    from sing.training.trainer import TrainingInterrupted

    root = logging.getLogger()
    for handler in root.handlers:  # each line says which run it is about
        handler.setFormatter(logging.Formatter(f"[{preset}] %(message)s"))
    try:
        _train_preset(preset, Path(out), options, progress=False)
    except SingError as err:
        return {"error": str(err)}
    except TrainingInterrupted as stop:
        return {"signum": stop.signum, "checkpoint": str(stop.checkpoint)}
    return {}


def _raise_outcomes(outcomes: dict[str, dict[str, Any]], out: Path) -> None:
    """Re-raise, in the parent, what went wrong in the children (interruption first)."""
    from sing.training.trainer import TrainingInterrupted

    for outcome in outcomes.values():
        if "signum" in outcome:
            raise TrainingInterrupted(int(outcome["signum"]), Path(outcome["checkpoint"]))
    for preset, outcome in outcomes.items():
        if "error" in outcome:
            raise SingError(f"training of preset '{preset}' failed: {outcome['error']}",
                            out / preset)


# -- what a run did ----------------------------------------------------------------------------
def run_summary(run_dir: Path) -> dict[str, Any]:
    """The curve of a finished run (``metrics.jsonl``): one point per epoch (stage, epoch,
    cumulative CPU and wall minutes, valid spectral L1), CPU minutes per stage and in total,
    the final valid spectral L1, and the SING model's parameter count."""
    from sing.models.io import read_info
    from sing.training.config import STAGES
    from sing.training.metrics import read_metrics
    from sing.training.trainer import MODEL_FILE

    records = read_metrics(run_dir)
    valid = {(r["stage"], r["epoch"]): r for r in records if r.get("split") == "valid"}
    points: list[dict[str, Any]] = []
    for r in records:
        if r.get("split") != "train" or r.get("stage") not in STAGES:
            continue
        if "cpu_s" not in r:
            raise SingError("metrics.jsonl has no CPU times (trained before `cpu_s` was "
                            "recorded): train this preset again into a new folder", run_dir)
        v = valid.get((r["stage"], r["epoch"]), {})
        points.append({
            "stage": r["stage"], "epoch": int(r["epoch"]), "cpu_min": r["cpu_s"] / 60.0,
            "wall_min": r.get("train_s", float("nan")) / 60.0,
            "valid_spectral_l1": v.get("spectral_l1", float("nan")),
        })
    if not points:
        raise SingError("metrics.jsonl holds no trained epoch", run_dir / "metrics.jsonl")
    stage_cpu: dict[str, float] = {}
    previous = 0.0
    for stage in STAGES:
        ends = [p["cpu_min"] for p in points if p["stage"] == stage]
        stage_cpu[stage] = (max(ends) - previous) if ends else 0.0
        previous = max(ends) if ends else previous
    finals = [p["valid_spectral_l1"] for p in points if math.isfinite(p["valid_spectral_l1"])]
    info = read_info(run_dir / MODEL_FILE)
    return {
        "run": str(run_dir), "parameters": info.num_parameters, "points": points,
        "cpu_min": stage_cpu, "cpu_min_total": points[-1]["cpu_min"],
        "wall_min_total": points[-1]["wall_min"],
        "final_valid_spectral_l1": finals[-1] if finals else float("nan"),
    }


# -- held-out evaluation -----------------------------------------------------------------------
def heldout_evaluation(run_dir: Path, test_set: Any, train_set: Any, device: str,
                       progress: bool = True) -> dict[str, dict[str, float]]:
    """Overall metrics (spectral L1, loud-bin L1, pitch accuracy...) of the run's final model
    and of the resample reference and the ground truth on every note of ``test_set``; cached
    in ``run_dir/heldout.json`` (:func:`sing.evaluation.heldout.cached_heldout`) while the
    model file and the test notes stay the same."""
    from sing.evaluation.heldout import HELDOUT_FILE, cached_heldout
    from sing.models.io import load_model_file
    from sing.training.trainer import MODEL_FILE

    model_path = run_dir / MODEL_FILE
    results = cached_heldout(run_dir / HELDOUT_FILE,
                             lambda: load_model_file(model_path, device=device, kind="sing")[0],
                             model_path, test_set, train_set, device, progress)
    systems = results["systems"]
    return {name: _floats(systems[name]["overall"]) for name in ("sing", *_REFERENCES)}


def _floats(summary: dict[str, Any]) -> dict[str, float]:
    return {k: float("nan") if v is None else float(v) for k, v in summary.items()}


def silence_metrics(test_set: Any, batch_size: int = 16) -> dict[str, float]:
    """Spectral L1 / MSE, waveform MSE / L1 and loud-bin L1 of an all-zero output over every
    note of ``test_set`` (mean over notes; pitch accuracy 0: silence has no pitch)."""
    import torch

    from sing.evaluation.metrics import NOTE_METRICS, note_metrics

    sums = dict.fromkeys(NOTE_METRICS, 0.0)
    counts = dict.fromkeys(NOTE_METRICS, 0)
    for start in range(0, len(test_set), batch_size):
        target = torch.stack([test_set[i]["wav"] for i in
                              range(start, min(start + batch_size, len(test_set)))]).float()
        for name, values in note_metrics(torch.zeros_like(target), target).items():
            finite = values[torch.isfinite(values)]
            sums[name] += float(finite.sum())
            counts[name] += int(finite.numel())
    out = {k: sums[k] / counts[k] if counts[k] else float("nan") for k in NOTE_METRICS}
    out.update(pitch_accuracy=0.0, pitch_accuracy_octave=0.0, notes=len(test_set))
    return out


# -- table and picture -------------------------------------------------------------------------
def curve_markdown(result: dict[str, Any]) -> str:
    """The table: one row per preset (parameters, CPU minutes per stage and in total, final
    valid and test spectral L1, loud-bin L1, pitch accuracy), then resample, ground truth and
    silence on the same test notes."""
    from sing.evaluation.tables import format_value, markdown_table

    recipe = ("paper recipe" if result["paper_recipe"] else
              f"stage-1 warm-up {result['ae_warmup']} steps, waveform anchor "
              f"{result['ae_wav_weight']:g}")
    header = ["system", "parameters", "CPU min ae", "CPU min seq", "CPU min sing",
              "CPU min total", "valid spectral L1", "test spectral L1", "test loud-bin L1",
              "pitch acc. test"]
    rows: list[list[str]] = []
    for preset, run in result["runs"].items():
        test = run["heldout"]["sing"]
        rows.append([
            f"SING `{preset}`", f"{run['parameters']:,}",
            *(_minutes(run["cpu_min"][s]) for s in ("ae", "seq", "sing")),
            _minutes(run["cpu_min_total"]),
            format_value("spectral_l1", run["final_valid_spectral_l1"]),
            format_value("spectral_l1", test["spectral_l1"]),
            format_value("loud_l1", test.get("loud_l1")),
            format_value("pitch_accuracy", test["pitch_accuracy"]),
        ])
    labels = {"resample": "resample (nearest training pitch)", "ground_truth": "ground truth",
              "silence": "silence (all-zero output)"}
    for name, label in labels.items():
        ref = result["references"][name]
        rows.append([label, "-", "-", "-", "-", "-", "-",
                     format_value("spectral_l1", ref["spectral_l1"]),
                     format_value("loud_l1", ref.get("loud_l1")),
                     format_value("pitch_accuracy", ref["pitch_accuracy"])])
    max_notes = result["max_notes"]
    lines = [
        f"Learning curve on {result['data']}: epochs ae/seq/sing {result['epochs']}, batch "
        f"{result['batch_size']}, lr {result['lr']:g}, {recipe}, "
        + (f"at most {max_notes} notes per split for training" if max_notes else
           f"{result['train_notes']} train notes")
        + f"; test columns on all {result['test_notes']} held-out test notes. CPU minutes: "
        "process CPU time of the training steps (all threads; per-epoch evaluation and the "
        "stage-2 frame cache excluded)"
        + (f", runs trained {result['parallel']} at a time with one thread each"
           if result["parallel"] > 1 and len(result["runs"]) > 1 else "")
        + ". Loud-bin L1: mean |log-power difference| over the STFT bins where the ground "
        "truth's log(1+|STFT|^2) > 1. Valid spectral L1: the last epoch's, on the valid notes "
        "the trainer evaluates.",
        "",
        markdown_table(header, rows),
    ]
    return "\n".join(lines) + "\n"


def curve_png(result: dict[str, Any]) -> bytes:
    """The two panels (see the module docstring) as PNG bytes."""
    from sing.evaluation.figures import _png, _pyplot
    from sing.training.curves import _STAGE_NAMES

    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(13, 5), dpi=90)
    colors = plt.get_cmap("tab10")
    xs_all: list[float] = []
    for k, (preset, run) in enumerate(result["runs"].items()):
        color = colors(k % 10)
        points = [p for p in run["points"] if math.isfinite(p["valid_spectral_l1"])]
        xs = [p["cpu_min"] for p in points]
        xs_all += xs
        ax.plot(xs, [p["valid_spectral_l1"] for p in points], "-", color=color,
                label=f"{preset} ({run['parameters'] / 1e6:.2f} M)")
        for stage, marker in _STAGE_MARKERS.items():
            sel = [p for p in points if p["stage"] == stage]
            ax.plot([p["cpu_min"] for p in sel], [p["valid_spectral_l1"] for p in sel],
                    marker, color=color, markersize=5)
        ends = [max(p["cpu_min"] for p in run["points"] if p["stage"] == s)
                for s in ("ae", "seq") if any(p["stage"] == s for p in run["points"])]
        for end in ends:  # the end of stages 1 and 2
            ax.axvline(end, color=color, linestyle=":", lw=1.0)
        test = run["heldout"]["sing"]
        ax2.plot([run["cpu_min_total"]], [test["spectral_l1"]], "o", color=color,
                 markersize=8, label=preset)
        ax2.annotate(preset, (run["cpu_min_total"], test["spectral_l1"]),
                     textcoords="offset points", xytext=(6, 4), fontsize=8)
    for stage, marker in _STAGE_MARKERS.items():  # legend entries of the stage markers
        ax.plot([], [], marker, color="grey", label=f"{_STAGE_NAMES[stage]} epochs")
    ax.plot([], [], ":", color="grey", label="stage ends")
    refs = result["references"]
    for name, style, label in (("resample", "--", "resample"), ("silence", "-.", "silence")):
        value = refs[name]["spectral_l1"]
        if math.isfinite(value):
            ax2.axhline(value, color="black" if name == "silence" else "tab:green",
                        linestyle=style, lw=1.0, label=f"{label} {value:.4f}")
    runs = sorted(result["runs"].values(), key=lambda run: run["cpu_min_total"])
    totals = [run["cpu_min_total"] for run in runs]
    ax2.plot(totals, [run["heldout"]["sing"]["spectral_l1"] for run in runs], "-",
             color="grey", lw=0.8, zorder=0)
    for axis, values in ((ax, xs_all), (ax2, totals)):
        axis.set_xlabel("CPU minutes of training (cumulative over the stages)")
        if _wide(values, 20.0):
            axis.set_xscale("log")
        ys = [y for line in axis.get_lines() for y in line.get_ydata()]
        if _wide(ys, 5.0):  # a linear axis reads better over a narrow range
            axis.set_yscale("log")
        axis.legend(fontsize=8, loc="best")
        axis.grid(True, which="both", alpha=0.3)
    ax.set_ylabel("valid spectral L1")
    ax.set_title("valid spectral L1 after each epoch")
    ax2.set_ylabel("test spectral L1 (held-out pairs)")
    ax2.set_title(f"final model on {result['test_notes']} held-out test notes")
    fig.suptitle("SING learning curve: quality against CPU minutes, per model size")
    fig.tight_layout()
    return _png(fig)


def _wide(values: list[float], ratio: float) -> bool:
    """Whether the positive finite ``values`` span more than ``ratio`` (then: a log axis)."""
    positive = [float(v) for v in values if math.isfinite(float(v)) and float(v) > 0]
    return bool(positive) and max(positive) / min(positive) > ratio


def _minutes(value: float) -> str:
    """CPU minutes as a table cell (two significant digits under a minute)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"
