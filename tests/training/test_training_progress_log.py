"""`sing train > log 2>&1`: the progress bars write a few whole lines, not one per batch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from train_helpers import child_env, sing_cmd


def test_training_log_has_no_line_per_batch(gm_dataset: Path, tmp_path: Path):
    args = ["train", "--data", str(gm_dataset), "--out", str(tmp_path / "run"), "--preset",
            "tiny", "--batch-size", "1", "--max-notes", "12", "--eval-notes", "2", "--seed",
            "3", "--stages", "ae", "--epochs-ae", "1"]
    env = {**child_env(), "SING_LOG_INTERVAL": "30"}
    done = subprocess.run(sing_cmd(*args), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    log = done.stderr
    assert "\r" not in log
    bar_lines = [line for line in log.splitlines() if line.startswith("ae epoch 1/1")]
    # 12 batches: with a redraw per batch there would be >= 12 such lines; here the bar's
    # first draw and its closing line
    assert len(bar_lines) == 2, log
    assert "12/12" in bar_lines[-1]
