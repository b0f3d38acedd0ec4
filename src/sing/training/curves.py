"""Training curves: ``metrics.jsonl`` -> a PNG (used by ``sing plot`` and the report)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from sing.errors import SingError
from sing.training.metrics import read_metrics
from sing.utils.atomic import atomic_write_bytes

logger = logging.getLogger(__name__)

#: The metrics drawn, one panel each.
PANELS: tuple[tuple[str, str], ...] = (
    ("train_loss", "training loss"),
    ("spectral_l1", "spectral L1"),
    ("spectral_mse", "spectral MSE"),
    ("wav_mse", "waveform MSE"),
    ("wav_l1", "waveform L1"),
)
_STAGE_NAMES = {"ae": "autoencoder", "seq": "sequence generator", "sing": "SING"}


def plot_metrics(run_dir: str | Path, out_png: str | Path) -> Path:
    """Draw the curves of ``run_dir/metrics.jsonl`` (one panel per metric, train subset and
    valid per stage, test as points) and write them atomically to ``out_png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    if not records:
        raise SingError("metrics.jsonl holds no records yet", Path(run_dir) / "metrics.jsonl")
    stages = [s for s in ("ae", "seq", "sing") if any(r.get("stage") == s for r in records)]
    # x axis: epochs laid end to end over the stages
    offsets, total = {}, 0
    for s in stages:
        offsets[s] = total
        total += max((int(r.get("epoch", 0)) for r in records if r.get("stage") == s),
                     default=0) + 1
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.6))
    styles = {"train": "-", "valid": "--", "test": "*"}
    for ax, (key, title) in zip(axes, PANELS, strict=True):
        for stage in stages:
            for split, style in styles.items():
                pts = [(offsets[stage] + int(r.get("epoch", 0)) + 1, r[key]) for r in records
                       if r.get("stage") == stage and r.get("split") == split and key in r]
                if not pts:
                    continue
                xs, ys = zip(*pts, strict=True)
                ax.plot(xs, ys, style, label=f"{_STAGE_NAMES.get(stage, stage)} {split}")
        for stage in stages[1:]:
            ax.axvline(offsets[stage] + 0.5, color="grey", lw=0.6)
        ax.set_title(title)
        ax.set_xlabel("epoch (stages end to end)")
        if key != "train_loss":
            ax.set_yscale("log")
    handles, labels = axes[1].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    out_png = Path(out_png)
    atomic_write_bytes(out_png, buf.getvalue())
    logger.info("curves written to %s", out_png)
    return out_png
