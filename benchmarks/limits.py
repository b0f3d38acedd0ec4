"""How far any implementation of the same network can go on this CPU: issue 21's whole-process
and training targets against zero-overhead bounds, measured in one run.

**Generation, whole process** (``whole_process.py``: 128 paper notes, batch 64, int8 against
the straightforward fp32 script):

* ``script``: seconds per note of the script's network (``nn.LSTM`` + the decoder's
  convolution modules, float32) at ``--batch-size``;
* ``int8 best``: the network's FLOPs per note (the positions the fast path computes) at the
  int8 GEMM ceiling (fbgemm, dynamic activations, at the decoder's own shape): every product
  at 100% of the kernel, nothing else;
* ``fixed``: what both processes pay whatever the network: a fresh interpreter importing
  torch and sing and loading the model (timed in a subprocess);
* bound = ``(fixed + N script) / (fixed + N int8 best)``: the whole-process ratio with int8
  generation at the ceiling and no quantising, no plan, no extra files.

**Training, stage 3 of ``small``** (``training.py``: notes per CPU-second, target 1.3x the
previous forms): the previous forms' step (``--reference``) and the trainer's step are timed
as there; the best step runs every product of forward and backward at the float32 GEMM
ceiling except the LSTM's recurrent ones (``[B, H] x [H, 4H]`` per step, forward and the
backward's input gradient), which run at the rate of that product timed alone; no
element-wise work, spectrogram, loss or optimizer.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/limits.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch
from machine import machine_load

from sing.models import SingConfig
from sing.models.fast import FastSING, GemmLinear
from sing.models.int8 import Int8Linear


def best_of(fn: Callable[[], object], repeats: int = 3) -> float:
    """Fastest wall-clock seconds of ``fn()`` over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def rate(rows: int, inner: int, out: int, dtype: str, repeats: int = 5) -> float:
    """FLOP/s of ``[rows, inner] @ [inner, out]``: float32 (best of torch.matmul and the
    oneDNN-packed product) or int8 (:class:`sing.models.int8.Int8Linear`)."""
    x, w = torch.randn(rows, inner), torch.randn(out, inner)
    if dtype == "int8":
        product = Int8Linear(w, None)
        candidates = [lambda: product(x)]
    else:
        packed, wt = GemmLinear(w, None, torch.float32), w.t().contiguous()
        candidates = [lambda: x @ wt] + ([lambda: packed(x)] if packed.packed_weight is not None
                                         else [])
    return 2 * rows * inner * out / min(best_of(fn, repeats) for fn in candidates)


def fixed_seconds(model_path: Path) -> float:
    """Wall seconds of a fresh process that imports torch and sing and loads the model."""
    code = f"from sing import api; api.load_model({str(model_path)!r})"
    times = []
    for _ in range(2):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - t)
    return min(times)


def generation(notes: int, batch: int) -> None:
    """The whole-process bound (see the module docstring)."""
    from render import gm_model

    with tempfile.TemporaryDirectory(prefix="sing-limits-") as tmp:
        path = gm_model("paper", Path(tmp) / "paper.safetensors")
        fixed = fixed_seconds(path)
        from sing import api

        model = api.load_model(path)
    config = model.config
    fast = FastSING(model, torch.float32)
    flops = fast.flops_per_note()
    del fast
    rows = batch * config.num_frames
    int8 = rate(min(rows, 4096), config.channels, config.channels, "int8")
    fp32 = rate(min(rows, 4096), config.channels, config.channels, "float32")
    model.decoder.forward = model.decoder.forward_conv  # the script's network
    g = torch.Generator().manual_seed(0)
    sym = [torch.randint(0, n, (batch,), generator=g) for n in
           (config.num_instruments, config.num_pitches, config.num_velocities)]
    with torch.inference_mode():
        script = best_of(lambda: model(*sym), repeats=1) / batch
    best = flops["total"] / int8
    bound = (fixed + notes * script) / (fixed + notes * best)
    print(f"GEMM ceilings at [{min(rows, 4096)}, {config.channels}] x [{config.channels}, "
          f"{config.channels}]: float32 {fp32 / 1e9:.0f} GFLOP/s, int8 {int8 / 1e9:.0f} GOP/s "
          f"({int8 / fp32:.2f}x)")
    print(f"script network, batch {batch}: {script:.3f} s/note "
          f"({flops['total'] / script / 1e9:.0f} GFLOP/s); int8 best: {best:.3f} s/note "
          f"({flops['total'] / 1e9:.1f} GFLOP at the int8 ceiling; network-only bound "
          f"{script / best:.2f}x)")
    print(f"fixed per process (imports + load): {fixed:.2f} s")
    print(f"whole process, {notes} notes: bound {bound:.2f}x (target 2.0x)")


def training(batch_size: int, steps: int) -> None:
    """The stage-3 training bound (see the module docstring)."""
    from training import real_batch, time_stage

    from sing.data.soundfont import build_dataset
    from sing.data.split import make_split

    with tempfile.TemporaryDirectory(prefix="sing-limits-") as tmp:
        data = Path(tmp) / "gm"
        build_dataset(data, programs=(0, 40, 73), pitches=tuple(range(57, 65)), progress=False)
        make_split(data)
        batch = real_batch(data, batch_size)
    cpu = torch.device("cpu")
    ref, now = [], []
    for _ in range(2):  # interleaved, the CPU seconds per step
        ref.append(time_stage("small", "sing", batch, cpu, False, steps, reference=True)[1])
        now.append(time_stage("small", "sing", batch, cpu, False, steps)[1])
    reference, trainer = statistics.median(ref), statistics.median(now)
    c = SingConfig.preset("small", num_instruments=3)
    h, n, b = c.hidden_size, c.num_frames, batch_size
    positions = n - c.context_size + 1
    decoder = 2 * positions * b * c.channels * (c.frame_dim * c.context_size
                                                + c.rewrite_layers * c.channels + c.window)
    inputs = sum(2 * 4 * h * (c.input_dim if i == 0 else h) for i in range(c.num_layers)) * n * b
    recurrent = 2 * 4 * h * h * c.num_layers * n * b
    frames = 2 * h * c.frame_dim * n * b
    ceiling = rate(4096, 1024, 1024, "float32")
    step_rate = rate(b, h, 4 * h, "float32", repeats=200)
    # forward + backward (2x): inputs, frames, decoder, dW_hh at the ceiling; the recurrent
    # product and the backward's dh at the step rate
    big = 3 * (decoder + inputs + frames) + recurrent
    best = big / ceiling + 2 * recurrent / step_rate
    print(f"float32 GEMM ceiling {ceiling / 1e9:.0f} GFLOP/s; the LSTM's step product "
          f"[{b}, {h}] x [{h}, {4 * h}] {step_rate / 1e9:.0f} GFLOP/s")
    print(f"stage 3 of small, batch {b}, CPU s/step: previous forms {reference:.3f}, trainer "
          f"{trainer:.3f} ({reference / trainer:.2f}x), zero-overhead best {best:.3f} "
          f"(bound {reference / best:.2f}x; target 1.3x)")


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print the bounds."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--notes", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=16,
                   help="the script's batch for its per-note time (64 in whole_process.py: "
                        "slower to time, within a few percent)")
    p.add_argument("--train-batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--parts", default="generation,training")
    args = p.parse_args(argv)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# limits, torch {torch.__version__}, {torch.get_num_threads()} threads, CPU "
          f"capability {torch.backends.cpu.get_cpu_capability()}, {now}; {machine_load()}")
    if "generation" in args.parts:
        generation(args.notes, args.batch_size)
    if "training" in args.parts:
        training(args.train_batch_size, args.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
