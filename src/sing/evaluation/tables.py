"""Markdown and JSON forms of evaluation results."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sing.utils.atomic import atomic_write_text

SYSTEM_LABELS: dict[str, str] = {
    "sing": "SING",
    "autoencoder": "Autoencoder",
    "resample": "Resample (nearest training pitch)",
    "ground_truth": "Ground truth",
}
METRIC_LABELS: dict[str, str] = {
    "spectral_l1": "spectral L1",
    "spectral_mse": "spectral MSE",
    "wav_mse": "wav MSE",
    "wav_l1": "wav L1",
    "pitch_accuracy": "pitch acc. YIN (50 cents)",
    "pitch_accuracy_octave": "pitch acc. YIN (any octave)",
    "pitch_accuracy_crepe": "pitch acc. CREPE (50 cents)",
    "pitch_accuracy_crepe_octave": "pitch acc. CREPE (any octave)",
    "buzz_db": "frame-rate buzz (dB)",
    "noise_floor": "noise floor",
}
#: Columns of the overall table, in order (a column nobody measured is left out).
TABLE_METRICS: tuple[str, ...] = (
    "spectral_l1", "spectral_mse", "wav_mse", "wav_l1", "pitch_accuracy",
    "pitch_accuracy_octave", "pitch_accuracy_crepe", "pitch_accuracy_crepe_octave", "buzz_db",
    "noise_floor", "notes")
#: Estimator -> (its accuracy metric, the results key of its share of the ground truth's).
ESTIMATOR_METRICS: dict[str, tuple[str, str]] = {
    "YIN": ("pitch_accuracy", "relative_pitch_accuracy"),
    "CREPE": ("pitch_accuracy_crepe", "relative_pitch_accuracy_crepe"),
}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def table_metrics(results: dict[str, Any]) -> list[str]:
    """The :data:`TABLE_METRICS` some system of ``results`` has a value of."""
    systems = results["systems"].values()
    return [m for m in TABLE_METRICS
            if m == "notes" or any(_finite(v["overall"].get(m)) for v in systems)]


def relative_pitch_lines(results: dict[str, Any]) -> list[str]:
    """One sentence per estimator run: the model's pitch accuracy over the ground truth's."""
    lines = []
    for name, (_metric, key) in ESTIMATOR_METRICS.items():
        rel = results.get(key)
        if _finite(rel):
            lines.append(f"Pitch accuracy ({name}) of the model relative to the ground truth "
                         f"(measured by {name} too): {100 * rel:.1f}%")
    return lines


def format_value(metric: str, value: Any) -> str:
    """A metric as a table cell: accuracies in %, the noise floor in % (3 decimals), the buzz
    in dB, losses with 4 significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if metric.startswith("pitch_accuracy"):
        return f"{100.0 * value:.1f}%"
    if metric == "noise_floor":
        return f"{100.0 * value:.3f}%"
    if metric == "buzz_db":
        return f"{value:.1f}"
    if metric == "notes":
        return str(int(value))
    return f"{value:.4g}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def results_markdown(results: dict[str, Any], title: str = "Evaluation") -> str:
    """Markdown of :func:`sing.evaluation.aggregate.aggregate` output (plus optional ``meta``):
    the overall table (one row per system) and the per-family breakdown."""
    metrics = table_metrics(results)
    systems = results["systems"]
    parts = [f"## {title}", ""]
    meta = results.get("meta", {})
    if meta:
        parts += [", ".join(f"{k}: {v}" for k, v in meta.items()), ""]
    header = ["system"] + [METRIC_LABELS.get(m, m) for m in metrics]
    rows = [
        [SYSTEM_LABELS.get(s, s)] + [format_value(m, v["overall"].get(m)) for m in metrics]
        for s, v in systems.items()
    ]
    parts.append(markdown_table(header, rows))
    for line in relative_pitch_lines(results):
        parts += ["", line]
    families = sorted({f for v in systems.values() for f in v["families"]})
    pitch = [(name, m) for name, (m, _k) in ESTIMATOR_METRICS.items() if m in metrics]
    if families:
        parts += ["", "### Per family", ""]
        header = ["family", "notes"]
        for s in systems:
            label = SYSTEM_LABELS.get(s, s).split(" (")[0]
            header += [f"{label} spectral L1"] + [f"{label} pitch acc. {n}" for n, _m in pitch]
        rows = []
        for f in families:
            first = next(v["families"][f] for v in systems.values() if f in v["families"])
            row = [f, format_value("notes", first["notes"])]
            for v in systems.values():
                fam = v["families"].get(f, {})
                row += [format_value("spectral_l1", fam.get("spectral_l1"))]
                row += [format_value(m, fam.get(m)) for _n, m in pitch]
            rows.append(row)
        parts.append(markdown_table(header, rows))
    return "\n".join(parts) + "\n"


def to_jsonable(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_results(results: dict[str, Any], json_path: Path, title: str = "Evaluation") -> Path:
    """Write ``results`` to ``json_path`` and its Markdown beside it (``.md``), atomically.

    Returns the Markdown path.
    """
    json_path = Path(json_path)
    atomic_write_text(json_path, json.dumps(to_jsonable(results), indent=2, allow_nan=False) + "\n")
    md_path = json_path.with_suffix(".md")
    atomic_write_text(md_path, results_markdown(results, title))
    return md_path
