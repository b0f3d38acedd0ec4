"""Whole processes: `sing generate` of N notes against a straightforward fp32 script.

Both write the same notes (``--notes`` distinct GM notes of an untrained ``--preset`` model,
paper by default: speed does not depend on the weights, except through int8's plan,
:mod:`sing.models.int8_plan`, which on random weights runs every part in int8) as 16-bit WAV
files, each in a fresh Python process timed from start to exit (imports, model load,
generation, files):

* ``script``: what a user would write without the fast path: ``sing.api.load_model``, then
  the model's forward as plain PyTorch (``nn.LSTM`` and the decoder's convolution modules,
  ``Decoder.forward_conv``: issue 21's yardstick, kept fixed although the model's own forward
  runs its decoder as GEMMs since 2026-12-03) in float32 on batches of ``--batch-size`` under
  ``torch.inference_mode()``, then ``soundfile.write`` per note;
* ``sing generate --list NOTES --dtype D`` for each ``--dtypes`` D (the one generation path:
  ``sing.generation.choose_backend`` picks the network); for int8 twice: with an empty
  ``SING_CACHE_DIR`` (the first run on a machine: the process measures the int8 plan), then
  with the plan that run cached (every later run, :mod:`sing.models.int8_plan_cache`).

The processes are interleaved (one of each per repeat) and the ratio script / generate is
taken per repeat, then the median, for the wall clock and for the CPU seconds of each
process (user + system, all threads: on a crowded machine the steadier figure).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/whole_process.py          # paper, 128 notes
    .venv/bin/python benchmarks/whole_process.py --preset small --dtypes float32 int8
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from machine import machine_load
from render import gm_model

SCRIPT = r"""
import sys
from pathlib import Path
import soundfile as sf
import torch
from sing import api

model_path, notes_path, out, batch = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
model = api.load_model(model_path)
model.decoder.forward = model.decoder.forward_conv  # plain PyTorch: the convolution modules
names = Path(notes_path).read_text().split()
notes = api.resolve_notes(model.vocabulary, names)
out.mkdir(parents=True, exist_ok=True)
with torch.inference_mode():
    for i in range(0, len(notes), batch):
        chunk = notes[i:i + batch]
        wav = model(torch.tensor([n.instrument for n in chunk]),
                    torch.tensor([n.pitch for n in chunk]),
                    torch.tensor([n.velocity for n in chunk])).clamp(-1, 1)
        for note, w in zip(chunk, wav):
            sf.write(out / f"{note.name}.wav", w.numpy(), model.vocabulary.sample_rate,
                     subtype="PCM_16")
"""


def note_names(model_path: Path, count: int) -> list[str]:
    """``count`` distinct notes of the model's vocabulary, spread over instruments, pitches
    and velocities (seeded)."""
    import random

    from sing import api
    from sing.data.vocabulary import note_name

    vocab = api.load_model(model_path).vocabulary
    rng = random.Random(0)
    names: set[str] = set()
    while len(names) < count:
        names.add(note_name(rng.choice(vocab.instruments),
                            rng.randint(vocab.pitch_min, vocab.pitch_max),
                            rng.choice(vocab.velocities)))
    return sorted(names)


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system, all threads) of a fresh process (``env``:
    variables set for it)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--preset", default="paper")
    p.add_argument("--notes", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dtypes", nargs="+", choices=("float32", "bfloat16", "int8"),
                   default=["float32", "bfloat16", "int8"])
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sing-bench-whole-") as tmp:
        tmp = Path(tmp)
        model = gm_model(args.preset, tmp / f"{args.preset}.safetensors")
        notes = tmp / "notes.txt"
        notes.write_text("\n".join(note_names(model, args.notes)) + "\n")
        script = tmp / "script.py"
        script.write_text(SCRIPT)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"# whole processes, {args.notes} notes of an untrained {args.preset} model, "
              f"batch {args.batch_size}, {platform.machine()}, OMP_NUM_THREADS="
              f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, {now}")
        print(f"# machine at start: {machine_load()}")
        runs: dict[str, list[tuple[float, float]]] = {"script": [],
                                                      **{d: [] for d in args.dtypes}}
        for r in range(args.repeats):
            runs["script"].append(timed([sys.executable, str(script), str(model), str(notes),
                                         str(tmp / f"script{r}"), str(args.batch_size)]))
            cache = tmp / f"cache{r}"  # empty: each repeat measures int8's plan afresh
            for dtype in args.dtypes:
                for name in (dtype, "int8, plan cached") if dtype == "int8" else (dtype,):
                    runs.setdefault(name, []).append(timed([
                        sys.executable, "-m", "sing", "-q", "generate", "--model", str(model),
                        "--list", str(notes), "--out", str(tmp / f"{name.replace(' ', '')}{r}"),
                        "--dtype", dtype, "--batch-size", str(args.batch_size)],
                        {"SING_CACHE_DIR": str(cache)}))
            print(f"# repeat {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in
                                                   runs.items()), flush=True)
        print(f"{'process':<40} {'wall s':>8} {'x script':>9} {'CPU s':>8} {'x script (CPU)':>14}")
        for name, measured in runs.items():
            row = []
            for i in (0, 1):
                row.append(statistics.median(m[i] for m in measured))
                row.append(statistics.median(
                    s[i] / m[i] for s, m in zip(runs["script"], measured, strict=True)))
            label = "straightforward fp32 script" if name == "script" else \
                f"sing generate --dtype {name}"
            print(f"{label:<40} {row[0]:>8.1f} {row[1]:>9.2f} {row[2]:>8.1f} {row[3]:>14.2f}")
        print(f"# machine at end: {machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
