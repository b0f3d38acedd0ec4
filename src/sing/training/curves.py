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
    colors = {"ae": "tab:blue", "seq": "tab:orange", "sing": "tab:green"}
    styles = {"train": "-", "valid": "--"}
    fig, grid = plt.subplots(2, 3, figsize=(13, 7))
    axes = list(grid.flat)
    tests = [r for r in records if r.get("split") == "test"]
    for ax, (key, title) in zip(axes, PANELS, strict=False):
        for stage in stages:
            for split, style in styles.items():
                pts = [(offsets[stage] + int(r.get("epoch", 0)) + 1, r[key]) for r in records
                       if r.get("stage") == stage and r.get("split") == split and key in r]
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, style, marker=".", color=colors[stage],
                            label=f"{_STAGE_NAMES[stage]}, {split}")
        for r in tests:
            if key in r:
                ax.plot([total], [r[key]], "*", color="black", markersize=10,
                        label=f"final {r.get('model', 'model')}, test")
        for stage in stages[1:]:
            ax.axvline(offsets[stage] + 0.5, color="grey", lw=0.6)
        ax.set_title(title)
        ax.set_xlabel("epoch (stages end to end)")
        if key != "train_loss":
            ax.set_yscale("log")
    handles, labels = [], []
    for ax in axes[:len(PANELS)]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    axes[-1].axis("off")
    if handles:
        axes[-1].legend(handles, labels, loc="center", fontsize=9)
    fig.suptitle(f"SING training: {Path(run_dir).resolve().name}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    out_png = Path(out_png)
    atomic_write_bytes(out_png, buf.getvalue())
    logger.debug("curves written to %s", out_png)
    return out_png
