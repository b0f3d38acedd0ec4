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
    "pitch_accuracy": "pitch acc. (50 cents)",
    "pitch_accuracy_octave": "pitch acc. (any octave)",
}


def format_value(metric: str, value: Any) -> str:
    """A metric as a table cell: accuracies in %, losses with 4 significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if metric.startswith("pitch_accuracy"):
        return f"{100.0 * value:.1f}%"
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
    metrics = ["spectral_l1", "spectral_mse", "wav_mse", "wav_l1", "pitch_accuracy",
               "pitch_accuracy_octave", "notes"]
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
    rel = results.get("relative_pitch_accuracy")
    if rel is not None and math.isfinite(rel):
        parts += ["", f"Pitch accuracy of the model relative to the ground truth: {100 * rel:.1f}%"]
    families = sorted({f for v in systems.values() for f in v["families"]})
    if families:
        parts += ["", "### Per family", ""]
        header = ["family", "notes"]
        for s in systems:
            label = SYSTEM_LABELS.get(s, s).split(" (")[0]
            header += [f"{label} spectral L1", f"{label} pitch acc."]
        rows = []
        for f in families:
            first = next(v["families"][f] for v in systems.values() if f in v["families"])
            row = [f, format_value("notes", first["notes"])]
            for v in systems.values():
                fam = v["families"].get(f, {})
                row += [format_value("spectral_l1", fam.get("spectral_l1")),
                        format_value("pitch_accuracy", fam.get("pitch_accuracy"))]
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
