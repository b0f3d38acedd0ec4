"""Where a fresh `sing generate` spends the time the warm per-note figure does not show.

Issue 9 item 3: 128 paper-preset notes took 10.4 s through `sing generate` against 4.6 s from
`benchmarks/generation.py`'s warm per-note time. This script times, for the same notes:

1. ``sing generate --list NOTES`` in a fresh process (wall clock: what a user waits for);
2. the same work stage by stage in another fresh process: ``import torch``, the rest of the
   imports, loading the model file (of which: building the module, i.e. its random
   initialisation), building the fast path (packing the weights), each chunk of
   ``--batch-size`` notes, the same first chunk again (warm), and writing the WAV files;

and prints the gap = (1) - notes x warm seconds per note, with the stages that make it up.

    .venv/bin/python benchmarks/cold_start.py                       # paper, 128 notes, bf16
    .venv/bin/python benchmarks/cold_start.py --preset small --dtype float32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_STAGES = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
out = {"import torch": time.perf_counter() - t0}
t = time.perf_counter()
import io
import soundfile as sf
from sing import api
from sing.generation import generate
from sing.models.io import read_info, KINDS
from sing.utils.atomic import atomic_write_bytes
out["import sing"] = time.perf_counter() - t
model_path, notes_path, folder, dtype, batch = sys.argv[1:6]
info = read_info(model_path)
t = time.perf_counter()
KINDS["sing"](info.config, vocabulary=info.vocabulary)
out["  of which: build the module (random init)"] = time.perf_counter() - t
t = time.perf_counter()
model = api.load_model(model_path)
out["load model"] = time.perf_counter() - t
notes = api.resolve_notes(model.vocabulary, open(notes_path).read().split())
from sing.models.fast import FastSING
t = time.perf_counter()
FastSING(model, dtype=getattr(torch, dtype))
out["  build the fast path (pack weights)"] = time.perf_counter() - t
batch = int(batch)
def run(chunk):
    return generate(model, chunk, batch_size=batch, dtype=getattr(torch, dtype))
write = 0.0
for i in range(0, len(notes), batch):
    chunk = notes[i:i + batch]
    t = time.perf_counter()
    wavs = run(chunk)
    out[f"chunk {i // batch + 1} ({len(chunk)} notes)"] = time.perf_counter() - t
    t = time.perf_counter()
    for n, w in zip(chunk, wavs):
        buffer = io.BytesIO()
        sf.write(buffer, w.numpy(), 16000, subtype="PCM_16", format="WAV")
        atomic_write_bytes(f"{folder}/{n.name}.wav", buffer.getvalue())
    write += time.perf_counter() - t
out["write WAVs (fsync each)"] = write
t = time.perf_counter()
run(notes[:batch])
out["warm: chunk 1 again"] = time.perf_counter() - t
out["warm s/note"] = out["warm: chunk 1 again"] / len(notes[:batch])
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", type=Path, help="a SING model file (default: untrained preset)")
    p.add_argument("--preset", default="paper")
    p.add_argument("--notes", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="bfloat16")
    args = p.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import random

    from machine import machine_load
    from render import gm_model

    with tempfile.TemporaryDirectory(prefix="sing-bench-cold-") as tmp:
        tmp = Path(tmp)
        model = args.model or gm_model(args.preset, tmp / f"{args.preset}.safetensors")
        from sing.models.io import read_info

        vocabulary = read_info(model).vocabulary
        rng = random.Random(0)
        names = [f"{rng.choice(vocabulary.instruments)}-"
                 f"{rng.randint(vocabulary.pitch_min, vocabulary.pitch_max):03d}-"
                 f"{rng.choice(vocabulary.velocities):03d}" for _ in range(args.notes)]
        notes = tmp / "notes.txt"
        notes.write_text("\n".join(names) + "\n")
        print(f"# {args.notes} notes, model {model.name} ({model.stat().st_size / 1e6:.0f} MB), "
              f"dtype {args.dtype}, batch {args.batch_size}; machine: {machine_load()}")
        env = {**os.environ, "TQDM_DISABLE": "1"}
        (tmp / "cli").mkdir()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sing", "-q", "generate", "--model", str(model),
                        "--list", str(notes), "--out", str(tmp / "cli"), "--dtype", args.dtype,
                        "--batch-size", str(args.batch_size)], check=True, env=env,
                       stderr=subprocess.DEVNULL)
        cli = time.perf_counter() - start
        (tmp / "staged").mkdir()
        staged = subprocess.run([sys.executable, "-c", _STAGES, str(model), str(notes),
                                 str(tmp / "staged"), args.dtype, str(args.batch_size)],
                                check=True, env=env, capture_output=True, text=True)
        stages = json.loads(staged.stdout.strip().splitlines()[-1])
        warm = stages["warm s/note"]
        print(f"fresh `sing generate`: {cli:.2f} s; warm: {warm:.4f} s/note x {args.notes} = "
              f"{warm * args.notes:.2f} s; gap {cli - warm * args.notes:.2f} s")
        print("stages in a fresh process:")
        for name, seconds in stages.items():
            print(f"  {name:<42} {seconds:8.3f}")
        print(f"# machine at end: {machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
