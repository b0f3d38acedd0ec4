"""Stage-3 training speed of the real trainer, against the trainer issue 21 started from.

    .venv/bin/python benchmarks/trainer_baseline.py                     # small, batch 16
    .venv/bin/python benchmarks/trainer_baseline.py --batch-size 64 --rounds 2

Issue 21's training target is "stage-3 notes per CPU-second of ``small`` >= 1.3x today's",
"today" being the trainer before the issue's work. ``benchmarks/training.py --reference``
rebuilds the previous forms of the decoder and the loss inside today's code, one step at a
time; this script runs the previous trainer itself: the tree of ``--baseline`` (default
d590c7f, the last commit before issue 21's first change) is exported with ``git archive`` to
a temporary folder and run with ``PYTHONPATH`` pointing there, in this same virtual
environment, beside this checkout's ``python -m sing train``. Both train stage 3 alone
(``--stages sing``) of the same preset, from the same seed, on the same GM data set, with the
same batch size; the runs of a round are interleaved. A run's rate is the notes of its epochs
after the first (a warm-up) over their CPU seconds, as the trainer itself clocks them
(``cpu_s`` in ``metrics.jsonl``: process CPU time, every thread).

Runs: ``current`` (this checkout's defaults: every thread, the batch as shards side by side),
``baseline`` (the previous trainer as it ran by default: torch's threads) and, unless
``--baseline-threads`` says otherwise, ``baseline-1t`` (the previous trainer held to one
thread, its best rate per CPU-second, at half its wall-clock speed on two cores). Ratios are
taken per round, in that round, then the median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from machine import machine_load

REPO = Path(__file__).resolve().parents[1]
#: The last commit before issue 21's work (its first change is 86733bc, 2026-12-02).
BASELINE = "d590c7f"
#: Runs the previous tree's command line (``sing.cli.main``) from ``PYTHONPATH``.
BASELINE_MAIN = "import sys; from sing.cli import main; sys.exit(main(sys.argv[1:]))"


def export_tree(revision: str, dest: Path) -> Path:
    """``git archive`` of ``revision``'s ``src/`` into ``dest``; returns its ``src`` folder."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"trainer_baseline: cannot export {revision} from {REPO}: "
                         f"{archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    src = dest / "src"
    # the exported tree must be what the baseline's runs import, not this checkout's package
    env = {**os.environ, "PYTHONPATH": str(src)}
    found = subprocess.run([sys.executable, "-c", "import sing; print(sing.__file__)"],
                           env=env, capture_output=True, text=True, check=False).stdout.strip()
    if not found.startswith(str(src)):
        raise SystemExit(f"trainer_baseline: PYTHONPATH={src} imports sing from {found!r}, not "
                         "from the exported tree")
    return src


def stage3_seconds(run_dir: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of the stage-3 epochs after the first, from a run's
    ``metrics.jsonl`` (the trainer's clocks are cumulative over a stage's epochs)."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
               if line.strip()]
    epochs = [r for r in records if r.get("stage") == "sing" and r.get("split") == "train"
              and "cpu_s" in r]
    if len(epochs) < 2:
        raise SystemExit(f"trainer_baseline: {run_dir}: fewer than two stage-3 epochs logged")
    first, last = epochs[0], epochs[-1]
    return last["cpu_s"] - first["cpu_s"], last["train_s"] - first["train_s"]


def train(kind: str, data: Path, out: Path, args: argparse.Namespace,
          baseline_src: Path, train_notes: int) -> tuple[float, float]:
    """Train stage 3 with one kind of run; (notes per CPU-second, notes per second)."""
    common = ["train", "--data", str(data), "--out", str(out), "--preset", args.preset,
              "--stages", "sing", "--epochs-sing", str(args.epochs), "--batch-size",
              str(args.batch_size), "--eval-notes", "0", "--no-progress"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if kind == "current":
        cmd = [sys.executable, "-m", "sing", *common]
    else:
        cmd = [sys.executable, "-c", BASELINE_MAIN, *common]
        env["PYTHONPATH"] = str(baseline_src)
        if kind == "baseline-1t":
            env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(cmd, env=env, cwd=out.parent, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"trainer_baseline: the {kind} run failed: "
                         f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    cpu, wall = stage3_seconds(out)
    notes = train_notes * (args.epochs - 1)
    return notes / cpu, notes / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the previous "
                        "trainer (default: the last commit before issue 21's work)")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="batch size of both (16: the shipped GM model's recipe)")
    parser.add_argument("--epochs", type=int, default=4,
                        help="stage-3 epochs per run (the first is not timed)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-threads", default="default,1",
                        help="the previous trainer's runs: 'default' (torch's threads) and/or "
                             "'1' (one thread)")
    parser.add_argument("--data", type=Path, help="data set with split.json (default: build a "
                        "GM one: programs 0, 40, 73, pitches 55-66, 180 notes)")
    args = parser.parse_args()
    if args.epochs < 2 or args.rounds < 1 or args.batch_size < 1:
        parser.error("--epochs must be >= 2, --rounds and --batch-size >= 1")
    names = {"default": "baseline", "1": "baseline-1t"}
    wanted = args.baseline_threads.split(",")
    if any(t not in names for t in wanted):
        parser.error(f"--baseline-threads takes 'default' and/or '1', not "
                     f"{args.baseline_threads!r}")
    kinds = ["current"] + [names[t] for t in wanted]

    from sing.data.nsynth import NSynthDataset
    from sing.models.int8_plan_cache import ISA_VARIABLES

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        baseline_src = export_tree(args.baseline, tmp_path)
        data = args.data
        if data is None:
            from sing.data.soundfont import build_dataset
            from sing.data.split import make_split

            data = tmp_path / "gm"
            build_dataset(data, programs=(0, 40, 73), pitches=tuple(range(55, 67)),
                          progress=False)
            make_split(data)
        train_notes = len(NSynthDataset(data, split="train"))
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=False).stdout.strip()
        cpu_name = platform.processor() or platform.machine()
        print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu_name}, "
              f"{os.cpu_count()} CPUs, {machine_load()}")
        isa = {k: os.environ[k] for k in ISA_VARIABLES if k in os.environ}
        print(f"ISA variables: {isa or 'none (native kernels)'}")
        print(f"current: {rev} (python -m sing train); baseline: {args.baseline} "
              f"(sing.cli.main from git archive)")
        print(f"preset {args.preset}, stage 3 only, batch {args.batch_size}, "
              f"{train_notes} train notes, {args.epochs} epochs per run "
              f"(epochs 2-{args.epochs} timed), {args.rounds} rounds\n")
        print(f"{'round':<6} {'run':<12} {'notes/CPU-s':>11} {'notes/s':>8} "
              f"{'x baseline CPU':>14} {'x baseline-1t CPU':>17} {'x baseline wall':>15}")
        rates: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
        for r in range(args.rounds):
            for kind in kinds:
                out = tmp_path / f"{kind}-{r}"
                rates[kind].append(train(kind, data, out, args, baseline_src, train_notes))
            for kind in kinds:
                cpu, wall = rates[kind][r]
                cols = []
                for base in ("baseline", "baseline-1t"):
                    cols.append(f"{cpu / rates[base][r][0]:.2f}" if base in rates else "")
                wall_x = f"{wall / rates['baseline'][r][1]:.2f}" if "baseline" in rates else ""
                print(f"{r + 1:<6} {kind:<12} {cpu:>11.2f} {wall:>8.2f} {cols[0]:>14} "
                      f"{cols[1]:>17} {wall_x:>15}")
            sys.stdout.flush()
        print()
        for base in ("baseline", "baseline-1t"):
            if base not in rates:
                continue
            ratios = [c[0] / b[0] for c, b in zip(rates["current"], rates[base], strict=True)]
            print(f"current / {base}, notes per CPU-second: median "
                  f"{statistics.median(ratios):.2f}x, min {min(ratios):.2f}x, "
                  f"max {max(ratios):.2f}x over {len(ratios)} rounds")
        print(f"({machine_load()} at the end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
