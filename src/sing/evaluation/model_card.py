"""The model card of a trained model: ``gm-model.md`` / ``.json`` (the shipped GM model's
report: the command, data, training times and held-out metrics, overall and per family), and
its one-line summary. :mod:`sing.recipes.gm_model` assembles the report; this module writes it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sing.data.soundfont import format_int_ranges as _ranges

#: The systems of a held-out evaluation, in the order the card shows them.
SYSTEMS = ("sing", "resample", "ground_truth")
_SYSTEMS = SYSTEMS


def summary_line(report: dict[str, Any]) -> str:
    """One line: held-out spectral L1 beside resample's, pitch accuracy beside the truth's."""
    overall = report["heldout"]["overall"]
    sing, resample, truth = (overall.get(s, {}) for s in _SYSTEMS)
    return (f"Held-out: spectral L1 SING {_num(sing.get('spectral_l1'))} (resample "
            f"{_num(resample.get('spectral_l1'))}), loud-bin L1 {_num(sing.get('loud_l1'))} "
            f"(resample {_num(resample.get('loud_l1'))}), pitch accuracy SING "
            f"{_pct(sing.get('pitch_accuracy'))} (ground truth "
            f"{_pct(truth.get('pitch_accuracy'))}).")


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def report_markdown(report: dict[str, Any]) -> str:
    """``gm-model.md``: the command, data, times and held-out metrics (overall, per family)."""
    from sing.evaluation.tables import markdown_table

    data, training, heldout = report["data"], report["training"], report["heldout"]
    sf = data["soundfont"]
    build = data.get("build") or {}
    lines = [
        "# The shipped General MIDI model", "",
        "Made by:", "", "```bash", report["command"], "```", "",
        "## Data", "",
        f"- SoundFont: `{sf['file']}` ({sf['name']}; licence: {sf['licence']}"
        + (f", {sf['author']}" if "author" in sf else "") + "). " + sf["note"],
        f"- {len(data['programs'])} GM programs, pitches {_ranges(tuple(data['pitches']))}, "
        f"velocities {', '.join(str(v) for v in data['velocities'])}; {data['duration']:g} s "
        f"notes, key held {data['hold']:g} s, {data['sample_rate']} Hz.",
        f"- {data['notes']} notes of {data['instruments']} instruments "
        f"({data['silent_notes_skipped']} silent notes outside the presets' key ranges "
        f"skipped); split " + ", ".join(f"{k} {v}" for k, v in data["split"].items()) + ".",
    ]
    if build:
        lines.append(f"- Rendered in {build['wall_s']:.0f} s wall, {build['cpu_s']:.0f} s CPU "
                     f"({build.get('jobs', 1)} process(es)).")
    rows = [[stage, _minutes(t["train_s"]), _minutes(t["cpu_s"])]
            for stage, t in training["stages"].items()]
    rows.append(["total", _minutes(training["train_s"]), _minutes(training["cpu_s"])])
    lines += [
        "", "## Training", "",
        f"Preset `{training['preset']}` ({training['parameters']:,} parameters), "
        f"{training['device']}, {training['cpus']} CPUs, {training['torch_threads']} torch "
        "threads. Times are the training steps' (metrics.jsonl `train_s` / `cpu_s`; per-epoch "
        "evaluations and stage 2's frame cache excluded).", "",
        markdown_table(["stage", "wall", "CPU"], rows),
        "", f"## Held-out test pairs ({heldout['notes']} notes, {heldout['weights']} weights)",
        "",
    ]
    labels = {"sing": "SING", "resample": "resample (nearest training pitch)",
              "ground_truth": "ground truth"}
    header = ["system", "spectral L1", "loud-bin L1", "pitch acc. (50 cents)",
              "pitch acc. (any octave)"]
    rows = [[labels[s], _num(m.get("spectral_l1")), _num(m.get("loud_l1")),
             _pct(m.get("pitch_accuracy")), _pct(m.get("pitch_accuracy_octave"))]
            for s, m in heldout["overall"].items()]
    lines.append(markdown_table(header, rows))
    rel = heldout.get("relative_pitch_accuracy")
    if rel is not None:
        lines += ["", f"SING's pitch accuracy is {100 * rel:.1f}% of the ground truth's."]
    families = heldout["families"]
    sing_f, res_f, truth_f = (families.get(s, {}) for s in _SYSTEMS)
    header = ["family", "notes", "SING spectral L1", "resample spectral L1", "SING loud-bin L1",
              "SING pitch acc.", "ground truth pitch acc."]
    rows = [[f, str(sing_f[f].get("notes")), _num(sing_f[f].get("spectral_l1")),
             _num(res_f.get(f, {}).get("spectral_l1")), _num(sing_f[f].get("loud_l1")),
             _pct(sing_f[f].get("pitch_accuracy")),
             _pct(truth_f.get(f, {}).get("pitch_accuracy"))] for f in sorted(sing_f)]
    lines += ["", "### Per family", "", markdown_table(header, rows), "",
              "Loud-bin L1: mean |log-power difference| over the STFT bins where the ground "
              "truth's log(1+|STFT|^2) > 1."]
    export = report.get("export")
    if export:
        lines += ["", "## Model file", "",
                  f"`{export['path']}`: {export['bytes']:,} bytes, {export['dtype']} weights, "
                  f"SHA-256 `{export['sha256']}`"
                  + (f"; installed as `{export['installed']}`" if "installed" in export else "")
                  + "."]
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict[str, Any], md_name: str = "gm-model.md",
                 json_name: str = "gm-model.json") -> tuple[Path, Path]:
    """Write the card as Markdown and JSON in ``out``, atomically; returns their paths."""
    from sing.evaluation.tables import to_jsonable
    from sing.utils.atomic import atomic_write_text

    md, js = out / md_name, out / json_name
    atomic_write_text(js, json.dumps(to_jsonable(report), indent=2, allow_nan=False) + "\n")
    atomic_write_text(md, report_markdown(report))
    return md, js


# -- export and install ------------------------------------------------------------------------
