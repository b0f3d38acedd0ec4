"""Continue the shipped General MIDI model: the file a `sing train --init-model` run made, as
the shipped model would be, beside the model it continued.

`sing experiment gm-model` trains the shipped model from nothing; a longer stage 3 is cheaper
to reach by continuing it (``sing train --stages sing --init-model gm.safetensors``, one run
or a chain of runs). :func:`continue_gm_model` takes the last run's model file and

1. rounds its weights to float16 exactly as the export stores them and evaluates every held-out
   test pair beside resample and the ground truth (cached in ``OUT/heldout.json``);
2. evaluates the base model (the one the chain started from) the same way (cached in
   ``OUT/heldout-base.json``) and compares the two, overall and family by family;
3. writes ``OUT/gm.safetensors`` (float16): the base model's recipe (``gm_model``: how the
   chain's start was made) plus ``continued``, one entry per run of the chain (its `sing
   train` command, recipe and stage times), the held-out metrics of the new weights, and
   ``OUT/gm-continue.json``; with ``install_to``, copies it there (refused over 50 MB), but only
   when it beats the base on every family's spectral L1 and overall pitch accuracy, unless
   ``force``.
"""

from __future__ import annotations

import logging
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from sing.errors import SingError

logger = logging.getLogger(__name__)

OUT_MODEL = "gm.safetensors"
REPORT_FILE = "gm-continue.json"


def chain_of(model_file: Path) -> list[Path]:
    """The run folders of a chain of `sing train --init-model` runs ending in ``model_file``
    (``RUN/model.safetensors``), oldest first, up to the first model that was not made by a
    run folder's trainer (the base)."""
    from sing.models.io import read_info

    chain: list[Path] = []
    current = Path(model_file)
    while current.name == "model.safetensors" and (current.parent / "metrics.jsonl").is_file():
        chain.insert(0, current.parent)
        init = read_info(current).recipe.get("init_model")
        if not init or len(chain) > 32:
            break
        current = Path(init)
    return chain


def train_command(recipe: dict[str, Any]) -> str:
    """The `sing train` command line that rebuilds a run's recipe (options off their
    default only)."""
    from sing.cli.options import command_args
    from sing.training.config import TrainConfig

    names = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: (tuple(v) if isinstance(v, list) else v)
                            for k, v in recipe.items() if k in names and k != "extra"})
    return "sing train " + " ".join(command_args(config, every=False))


def base_of(chain: list[Path]) -> Path:
    """The model file the chain's first run started from."""
    from sing.models.io import read_info

    init = read_info(chain[0] / "model.safetensors").recipe.get("init_model")
    if not init:
        raise SingError("was not trained from another model (--init-model): nothing to "
                        "continue", chain[0] / "model.safetensors")
    return Path(init)


def family_comparison(new: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Per family and overall: spectral L1 and pitch accuracy of the new and the base model
    (two held-out results of :func:`sing.evaluation.heldout.cached_heldout` on the same
    notes), and whether the new one is better on both."""
    rows: dict[str, Any] = {}
    base_families = base["systems"]["sing"]["families"]
    pairs = [("overall", new["systems"]["sing"]["overall"], base["systems"]["sing"]["overall"])]
    pairs += [(f, s, base_families[f]) for f, s in new["systems"]["sing"]["families"].items()
              if f in base_families]
    for name, n, b in pairs:
        rows[name] = {
            "spectral_l1": [n["spectral_l1"], b["spectral_l1"]],
            "pitch_accuracy": [n["pitch_accuracy"], b["pitch_accuracy"]],
            "better": bool(n["spectral_l1"] < b["spectral_l1"]
                           and n["pitch_accuracy"] >= b["pitch_accuracy"]),
        }
    return rows


def continue_gm_model(model_file: str | Path, data: str | Path, out: str | Path,
                      device: str = "cpu", install_to: str | Path | None = None,
                      force: bool = False, progress: bool = True) -> dict[str, Any]:
    """Evaluate, compare, export (and maybe install) the last model of a continuation chain;
    returns the report (also written to ``out/gm-continue.json``). See the module docstring."""
    import json

    import torch

    from sing.data.nsynth import NSynthDataset
    from sing.evaluation.heldout import cached_heldout
    from sing.evaluation.tables import to_jsonable
    from sing.models.io import read_info, save_model
    from sing.recipes.gm_model import (
        EXPORT_DTYPE,
        _load_rounded,
        install_model,
        portable_paths,
        stage_times,
    )
    from sing.utils.atomic import atomic_write_text

    model_file, data, out = Path(model_file), Path(data), Path(out)
    chain = chain_of(model_file)
    if not chain:
        raise SingError("is not the model file of a `sing train` run folder", model_file)
    base_file = base_of(chain)
    base = read_info(base_file).recipe
    if not isinstance(base.get("gm_model"), dict) or not isinstance(base.get("heldout"), dict):
        raise SingError("was not made by `sing experiment gm-model` (no gm_model / heldout "
                        "metadata): nothing to continue", base_file)
    out.mkdir(parents=True, exist_ok=True)
    test_set = NSynthDataset(data, split="test")
    train_set = NSynthDataset(data, split="train")
    heldout = cached_heldout(out / "heldout.json", lambda: _load_rounded(model_file)[0],
                             model_file, test_set, train_set, device, progress,
                             extra_key=(EXPORT_DTYPE,))
    base_heldout = cached_heldout(out / "heldout-base.json",
                                  lambda: _load_rounded(base_file)[0], base_file, test_set,
                                  train_set, device, progress, extra_key=(EXPORT_DTYPE,))
    comparison = family_comparison(heldout, base_heldout)
    runs = []
    for run in chain:
        recipe = read_info(run / "model.safetensors").recipe
        times = stage_times(run)
        runs.append({"run": str(run), "command": train_command(recipe), "recipe": recipe,
                     "stages": times,
                     "cpu_s": round(sum(t["cpu_s"] for t in times.values()), 3),
                     "train_s": round(sum(t["train_s"] for t in times.values()), 3)})
    systems = heldout["systems"]
    new_heldout = {
        "notes": systems["sing"]["overall"].get("notes"), "weights": EXPORT_DTYPE,
        "overall": {s: systems[s]["overall"] for s in ("sing", "resample", "ground_truth")
                    if s in systems},
        "families": {s: systems[s]["families"] for s in ("sing", "ground_truth")
                     if s in systems},
        "relative_pitch_accuracy": heldout.get("relative_pitch_accuracy"),
    }
    model, info = _load_rounded(model_file)
    meta = dict(info.recipe)
    meta.update({k: base[k] for k in ("gm_model", "soundfont", "licence", "hold") if k in base})
    meta["continued"] = [{k: r[k] for k in ("command", "cpu_s", "train_s")} for r in runs]
    meta["heldout"] = {k: new_heldout[k] for k in ("notes", "weights", "overall",
                                                   "relative_pitch_accuracy")}
    for folder in sorted({out, data.parent, *(run.parent for run in chain)},
                         key=lambda f: len(str(f.resolve())), reverse=True):
        meta = portable_paths(meta, folder)  # no folder of this machine in the shipped file
    vocabulary = info.vocabulary
    if "hold" in base:
        vocabulary = replace(vocabulary, hold=base["hold"],
                             extra={**vocabulary.extra, "hold": base["hold"]})
    export = save_model(out / OUT_MODEL, model, vocabulary, meta,
                        training_data=info.training_data, dtype=getattr(torch, EXPORT_DTYPE))
    better = all(row["better"] for row in comparison.values())
    report = {"model": str(export), "base": str(base_file), "runs": runs,
              "cpu_s": round(sum(r["cpu_s"] for r in runs), 3), "heldout": new_heldout,
              "comparison": comparison, "better_everywhere": better, "installed": None}
    if install_to is not None:
        if not (better or force):
            worse = [f for f, row in comparison.items() if not row["better"]]
            raise SingError(f"not installed: not better than {base_file} on "
                            f"{', '.join(worse)} (spectral L1 and pitch accuracy; --force "
                            "installs anyway)", export)
        report["installed"] = str(install_model(export, install_to))
    atomic_write_text(out / REPORT_FILE, json.dumps(to_jsonable(report), indent=2) + "\n")
    return report


def comparison_markdown(report: dict[str, Any]) -> str:
    """The family-by-family comparison as a Markdown table."""
    lines = ["| family | spectral L1 new / base | pitch accuracy new / base | better |",
             "|---|---|---|---|"]
    for name, row in report["comparison"].items():
        (sn, sb), (pn, pb) = row["spectral_l1"], row["pitch_accuracy"]
        lines.append(f"| {name} | {sn:.4f} / {sb:.4f} | {100 * pn:.1f}% / {100 * pb:.1f}% | "
                     f"{'yes' if row['better'] else 'no'} |")
    return "\n".join(lines) + "\n"
