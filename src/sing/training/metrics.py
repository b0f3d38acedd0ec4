"""The metrics log of a run: ``RUN_DIR/metrics.jsonl`` (+ TensorBoard when installed).

One JSON object per line, e.g. ``{"stage": "ae", "epoch": 3, "split": "valid",
"spectral_l1": 0.41, "spectral_mse": 0.52, "wav_mse": 0.002, "wav_l1": 0.03, ...}``.
The records also travel inside every checkpoint; the file is rewritten atomically from them,
so after a crash and a resume it holds each record exactly once.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sing.errors import SingError
from sing.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Records of a ``metrics.jsonl`` file (or of ``RUN_DIR/metrics.jsonl``)."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    if not path.is_file():
        raise SingError("no metrics.jsonl here (not a training run folder?)", path)
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise SingError(f"line {lineno} is not JSON", path) from None
    return records


class MetricsLog:
    """Collects metric records; rank 0 writes them to ``metrics.jsonl`` and TensorBoard.

    Args:
        run_dir: the run folder.
        records: records already logged (restored from a checkpoint).
        enabled: False on ranks other than 0 (they keep the records but write nothing).
    """

    def __init__(self, run_dir: str | Path, records: list[dict[str, Any]] | None = None,
                 enabled: bool = True) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.records: list[dict[str, Any]] = list(records or [])
        self.enabled = enabled
        self._writer = None
        if enabled:
            self._writer = _tensorboard_writer(Path(run_dir) / "tensorboard")
            self._flush()

    def log(self, record: dict[str, Any]) -> None:
        """Add one record and rewrite ``metrics.jsonl`` atomically."""
        self.records.append(dict(record))
        if not self.enabled:
            return
        self._flush()
        if self._writer is not None:
            tag = f"{record.get('stage', 'run')}/{record.get('split', 'all')}"
            step = int(record.get("epoch", 0))
            for key, value in record.items():
                if isinstance(value, float):
                    self._writer.add_scalar(f"{tag}/{key}", value, step)
            self._writer.flush()

    def _flush(self) -> None:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.records)
        atomic_write_text(self.path, text)

    def close(self) -> None:
        """Close the TensorBoard writer, if any."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _tensorboard_writer(log_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    try:
        return SummaryWriter(log_dir=str(log_dir))
    except Exception as err:  # noqa: BLE001 - TensorBoard is optional, never fatal
        logger.warning("TensorBoard disabled: %s", err)
        return None
