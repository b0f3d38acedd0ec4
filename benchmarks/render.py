"""Speed of `sing render`: a >= 2-minute multi-track MIDI file, cold start included.

Writes the long version of the bundled canon (``sing.midi.pieces.write_canon(cycles=13)``,
2 min 12 s, 5 tracks), then times ``sing render`` on it in a fresh Python process (interpreter,
imports, model load, fast-path packing, generation, mix, WAV: everything a user waits for) and
prints x real time = piece seconds / wall seconds. It also runs the same render in this process
stage by stage (read, load, plan, generate, mix, write) to show where the time goes.

The model: ``--model FILE``; by default the shipped model when the install has one, else an
untrained model of ``--preset`` (default ``paper``) with a General MIDI vocabulary (128
programs, pitches 24-96, 5 velocities, 4-s notes): speed does not depend on the weights.

    .venv/bin/python benchmarks/render.py                          # shipped model (or paper)
    .venv/bin/python benchmarks/render.py --preset small --dtype bfloat16
    .venv/bin/python benchmarks/render.py --model runs/gm/model.safetensors --repeats 3
    .venv/bin/python benchmarks/render.py --midi src/sing/midi/pieces/haydn-op74no1.mid \
        --dtypes float32 float32-torch int8   # a 36-s string quartet, one cold render each

``float32`` in a fresh process runs the NumPy network (torch is never imported:
:func:`sing.midi.render.uses_numpy`); ``float32-torch`` is the same render in a fresh process
that imports torch first, so it takes the torch fast path (what ``sing render`` did before).

With several ``--dtypes`` the cold renders are interleaved (one of each per repeat), so their
ratios come from the same conditions.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from machine import machine_load


def gm_model(preset: str, path: Path) -> Path:
    """An untrained SING of ``preset`` for all 128 GM programs, saved at ``path``."""
    import torch

    from sing.data.gm import GM_PROGRAMS, instrument_str
    from sing.data.vocabulary import Vocabulary
    from sing.models import SING, SingConfig
    from sing.models.io import save_model

    vocabulary = Vocabulary(
        instruments=tuple(instrument_str(p) for p in range(128)),
        instrument_ids=tuple(range(128)),
        families=tuple(p.family for p in GM_PROGRAMS),
        pitch_min=24,
        pitch_max=96,
        extra={"hold": 3.0},
    )
    torch.manual_seed(0)
    model = SING(SingConfig.for_vocabulary(vocabulary, preset), vocabulary)
    return save_model(path, model, recipe={"stage": "untrained", "benchmark": "render"})


def cold_render(model: Path, midi: Path, out: Path, dtype: str,
                batch_size: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system, all threads) of ``python -m sing render`` in
    a fresh process."""
    import resource

    args = ["-q", "render", str(midi), "--out", str(out), "--model", str(model),
            "--dtype", dtype.removesuffix("-torch"), "--batch-size", str(batch_size)]
    argv = [sys.executable, "-m", "sing", *args]
    if dtype.endswith("-torch"):  # torch imported first: the render takes the torch path
        argv = [sys.executable, "-c", "import sys, torch; from sing.cli import main; "
                f"sys.exit(main({args!r}))"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def staged_render(model_path: Path, midi: Path, out: Path, dtype: str,
                  batch_size: int) -> dict[str, float]:
    """Seconds of each stage of the render, in this process."""
    import torch

    from sing.midi import render
    from sing.midi.reader import read_midi
    from sing.models.io import load_model_file

    times: dict[str, float] = {}
    t = time.perf_counter()
    score = read_midi(midi)
    times["read MIDI"] = time.perf_counter() - t
    t = time.perf_counter()
    model, info = load_model_file(model_path, kind="sing")
    model.info = info
    times["load model"] = time.perf_counter() - t
    t = time.perf_counter()
    plan = render.plan_render(model, score)
    times["plan"] = time.perf_counter() - t
    t = time.perf_counter()
    waves = render.generate_plan(model, plan, batch_size=batch_size,
                                 dtype=getattr(torch, dtype.removesuffix("-torch")))
    times[f"generate {len(plan.keys)} notes"] = time.perf_counter() - t
    t = time.perf_counter()
    mix, rate = render.finish_mix(render.mix_plan(plan, waves), plan.sample_rate)
    times[f"mix {len(score.notes)} notes"] = time.perf_counter() - t
    t = time.perf_counter()
    from sing.data.wav import write_wav

    write_wav(out, mix, rate, atomic=True)
    times["write WAV"] = time.perf_counter() - t
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", type=Path, help="a SING model file (default: shipped, else preset)")
    p.add_argument("--preset", default="paper", help="untrained model preset without a model")
    p.add_argument("--dtypes", nargs="+",
                   choices=("float32", "float32-torch", "bfloat16", "int8"),
                   default=["float32"], help="--dtype of each cold render")
    p.add_argument("--midi", type=Path, default=None, help="a MIDI file instead of the canon")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--cycles", type=int, default=13, help="cycles of the canon (13: 2 min 12 s)")
    p.add_argument("--repeats", type=int, default=1, help="cold renders (median)")
    args = p.parse_args(argv)

    import torch

    from sing.midi.pieces import write_canon
    from sing.midi.reader import read_midi
    from sing.pretrained import SHIPPED_MODEL

    with tempfile.TemporaryDirectory(prefix="sing-bench-render-") as tmp:
        tmp = Path(tmp)
        midi = args.midi or write_canon(tmp / "canon-long.mid", cycles=args.cycles)
        score = read_midi(midi)
        if args.model is not None:
            model, what = args.model, str(args.model)
        elif SHIPPED_MODEL.is_file():
            model, what = SHIPPED_MODEL, f"shipped model {SHIPPED_MODEL}"
        else:
            model = gm_model(args.preset, tmp / f"{args.preset}.safetensors")
            what = f"untrained {args.preset} preset, 128 GM instruments (no shipped model)"
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        print(f"# sing render benchmark, {platform.machine()}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, {now}")
        print(f"# model: {what} ({model.stat().st_size / 1e6:.0f} MB), dtypes "
              f"{' '.join(args.dtypes)}, batch {args.batch_size}")
        piece = midi.name if args.midi else f"the canon, {args.cycles} cycles"
        print(f"# piece: {piece}: {score.length:.1f} s, "
              f"{len(score.notes)} notes, {score.tracks} tracks, programs {score.programs}")
        print(f"# machine at start: {machine_load()}")
        walls: dict[str, list[tuple[float, float]]] = {d: [] for d in args.dtypes}
        for _ in range(args.repeats):
            for dtype in args.dtypes:
                walls[dtype].append(cold_render(model, midi, tmp / "cold.wav", dtype,
                                                args.batch_size))
        import soundfile as sf

        audio = sf.info(tmp / "cold.wav").duration
        for dtype, runs in walls.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"cold `sing render --dtype {dtype}` (fresh process, everything included): "
                  f"{wall:.2f} s (runs: {', '.join(f'{w:.2f}' for w, _ in runs)}) for "
                  f"{audio:.1f} s of audio = {audio / wall:.1f}x real time; CPU {cpu:.2f} s = "
                  f"{audio / cpu:.1f}x real time per CPU-second")
        stages = staged_render(model, midi, tmp / "warm.wav", args.dtypes[-1], args.batch_size)
        total = sum(stages.values())
        print(f"in-process stages, {args.dtypes[-1]} (torch already imported): {total:.2f} s "
              f"= {audio / total:.1f}x real time")
        for name, seconds in stages.items():
            print(f"  {name:<24} {seconds:7.3f} s")
        print(f"# machine at end: {machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
