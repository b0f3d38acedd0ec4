"""Generation speed of SING: the straightforward PyTorch forward vs the fast path.

Times a randomly initialised model of a preset (``paper`` by default) at several batch sizes
and dtypes, for

* ``reference``: ``model.to(dtype)`` as plain PyTorch: ``nn.LSTM`` and the decoder's
  convolution modules (``Decoder.forward_conv``; the yardstick of issue 21, fixed: the model's
  own ``forward`` runs its decoder as GEMMs since 2026-12-03, ~1.15x faster on the paper
  preset), and
* ``fast``: :class:`sing.models.fast.FastSING` built from the same float32 weights,

and prints, per row: seconds of audio generated per second, GFLOP per note, achieved GFLOP/s,
the fraction of a large-GEMM ceiling of the same dtype measured in the same run, and the speed
ratios fast / reference (same dtype) and fast / reference float32 (same batch). The fast rows
also give the spectral loss of the output against the float32 reference, relative to the
reference's mean log-power. ``int8`` (:mod:`sing.models.int8`) exists on the fast path only;
its ceiling is a large int8 GEMM of the same kind (dynamic activations, fbgemm), in GOP/s.

    .venv/bin/python benchmarks/generation.py                       # paper, batch 1 and 64
    .venv/bin/python benchmarks/generation.py --repeats 1 --batch-sizes 1 16
    .venv/bin/python benchmarks/generation.py --device cuda --batch-sizes 1 64 512
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone

import torch
from machine import machine_load

from sing.dsp import log_power_spectrogram, spectral_loss
from sing.models import SING, SingConfig
from sing.models.fast import FastSING, GemmLinear
from sing.models.frames import strip as strip_note

logger = logging.getLogger("benchmarks.generation")

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "int8": torch.int8}


def sync(device: torch.device) -> None:
    """Wait for queued GPU work (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_ceiling(dtype: torch.dtype, device: torch.device, size: int, repeats: int) -> float:
    """GFLOP/s of a large square matrix product ``[size, size] @ [size, size]`` in ``dtype``.

    The best of ``torch.matmul`` and, on the CPU, the oneDNN-packed product the fast path uses
    (for float32 on this machine oneDNN is about twice as fast as torch.matmul).
    """
    if dtype == torch.int8:
        from sing.models.int8 import Int8Linear

        x = torch.randn(size, size)
        product = Int8Linear(torch.randn(size, size), None)
        best = timed(lambda: product(x), device, repeats=max(repeats, 2), warmup=1)
        return 2 * size**3 / best / 1e9
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    candidates = [lambda: a @ b]
    packed = GemmLinear(b, None, dtype)
    if packed.packed_weight is not None:
        candidates.append(lambda: packed(a))
    best = min(timed(fn, device, repeats=max(repeats, 2), warmup=1) for fn in candidates)
    return 2 * size**3 / best / 1e9


def model_flops_per_note(config: SingConfig) -> dict[str, int]:
    """FLOPs (2 x multiply-adds) of one note through the model as written (all positions)."""
    steps = config.num_frames
    h, gates = config.hidden_size, 4 * config.hidden_size
    lstm = sum(
        2 * steps * gates * ((config.input_dim if i == 0 else h) + h)
        for i in range(config.num_layers)
    )
    lstm += 2 * steps * h * config.frame_dim
    positions = steps - config.context_size + 1
    c = config.channels
    decoder = 2 * positions * c * (
        config.frame_dim * config.context_size + config.rewrite_layers * c + config.window
    )
    return {"sequence_generator": lstm, "decoder": decoder, "total": lstm + decoder}


Path = tuple[str, str]  # (dtype name, "reference" | "fast")


def build_paths(
    model: SING, config: SingConfig, device: torch.device, dtypes: list[str], reference: bool
) -> dict[Path, Callable[..., torch.Tensor]]:
    """The callables to time: the model's own forward per dtype and FastSING per dtype."""
    paths: dict[Path, Callable[..., torch.Tensor]] = {}
    for name in dtypes:
        dtype = DTYPES[name]
        if reference and dtype != torch.int8:  # int8 exists on the fast path only
            ref_model = model
            if dtype != torch.float32:
                ref_model = SING(config).to(device).eval()
                ref_model.load_state_dict(model.state_dict())
                ref_model.to(dtype)

            def run_reference(*notes: torch.Tensor, m: SING = ref_model) -> torch.Tensor:
                with torch.inference_mode():
                    frames, _ = m.generator(*notes)
                    return strip_note(m.decoder.forward_conv(frames), m.config.note_length,
                                      m.config)

            paths[(name, "reference")] = run_reference
        paths[(name, "fast")] = FastSING(model, dtype=dtype)
    return paths


def add_numpy_path(paths: dict[Path, Callable[..., torch.Tensor]], model: SING) -> None:
    """The NumPy network (:mod:`sing.models.numpy_sing`, float32, NumPy's BLAS) as a path."""
    from sing.models.numpy_sing import NumpySING

    copy = NumpySING.from_model(model)

    def run(*notes: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(copy(*(n.numpy() for n in notes)))

    paths[("float32", "numpy")] = run


def interleaved_times(
    paths: dict[Path, Callable[..., torch.Tensor]],
    notes: tuple[torch.Tensor, ...],
    device: torch.device,
    repeats: int,
    warmup: int,
) -> tuple[dict[Path, list[float]], dict[Path, list[float]]]:
    """(wall seconds, process CPU seconds) per call of every path, timed in rounds (one call
    of each path per round).

    Interleaving makes the paths share the machine's conditions: on a shared, noisy machine the
    per-round ratios are much steadier than times taken minutes apart. CPU seconds (all the
    process's threads) do not count the time other jobs hold the cores: with one thread their
    ratios are the steadier ones on a crowded machine.
    """
    for fn in paths.values():
        for _ in range(warmup):
            fn(*notes)
    times: dict[Path, list[float]] = {key: [] for key in paths}
    cpu: dict[Path, list[float]] = {key: [] for key in paths}
    for _ in range(repeats):
        for key, fn in paths.items():
            sync(device)
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(*notes)
            sync(device)
            times[key].append(time.perf_counter() - start)
            cpu[key].append(time.process_time() - start_cpu)
    return times, cpu


def ratio(times: dict[Path, list[float]], baseline: Path, runs: list[float]) -> float:
    """Median over rounds of baseline time / this path's time (nan without a baseline)."""
    if baseline not in times:
        return float("nan")
    return statistics.median(b / t for b, t in zip(times[baseline], runs, strict=True))


def bf16_quality(
    paths: dict[Path, Callable[..., torch.Tensor]], notes: tuple[torch.Tensor, ...]
) -> dict[str, float]:
    """Spectral loss of each fast path against the float32 reference, / its mean log-power."""
    reference = paths.get(("float32", "reference"))
    if reference is None:
        return {}
    want = reference(*notes).float()
    scale = log_power_spectrogram(want).mean()
    return {
        name if path != "numpy" else "numpy":
            (spectral_loss(fn(*notes).float(), want) / scale).item()
        for (name, path), fn in paths.items()
        if path != "reference"
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--preset", default="paper", help="model preset (paper, small, tiny)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:0...")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    p.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES),
                   default=["float32", "bfloat16", "int8"])
    p.add_argument("--repeats", type=int, default=3, help="timed runs per row (median)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs per row")
    p.add_argument("--gemm-size", type=int, default=4096, help="side of the ceiling GEMM")
    p.add_argument("--no-reference", action="store_true", help="time the fast path only")
    p.add_argument("--numpy", action="store_true",
                   help="also time the NumPy network (float32; what `sing render` runs "
                   "without torch)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--num-instruments", type=int, default=1006)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU available", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    config = SingConfig.preset(args.preset, num_instruments=args.num_instruments)
    model = SING(config).to(device).eval()
    seconds_per_note = config.note_length / config.sample_rate
    flops = model_flops_per_note(config)
    what = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(
        f"# SING generation, preset {args.preset}, device {device} ({what or platform.machine()}),"
        f" torch {torch.__version__}, {torch.get_num_threads()} threads,"
        f" {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
    )
    print(
        f"# FLOPs per note: {flops['total'] / 1e9:.2f} G (sequence generator "
        f"{flops['sequence_generator'] / 1e9:.2f} G, decoder {flops['decoder'] / 1e9:.2f} G);"
        f" {seconds_per_note:g} s of audio per note; median of {args.repeats} runs"
    )
    print(f"# machine at start: {machine_load()}")
    ceilings = {}
    for name in args.dtypes:
        ceilings[name] = gemm_ceiling(DTYPES[name], device, args.gemm_size, args.repeats)
        print(f"# large-GEMM ceiling {name}: {ceilings[name]:.0f} GFLOP/s "
              f"({args.gemm_size}^3 matrix product, best of torch.matmul and oneDNN)")
    header = (
        f"{'batch':>5} {'dtype':>8} {'path':>9} {'s/note':>8} {'audio s/s':>9} {'GFLOP/note':>10}"
        f" {'GFLOP/s':>8} {'ceiling':>7} {'x same-dtype ref':>16} {'x fp32 ref':>10}"
        f" {'spec/logpow':>11} {'CPU s/note':>10} {'x fp32 ref (CPU)':>16}"
    )
    print(header)
    for batch in args.batch_sizes:
        g = torch.Generator().manual_seed(batch)
        instrument = torch.randint(0, config.num_instruments, (batch,), generator=g).to(device)
        pitch = torch.randint(24, 96, (batch,), generator=g).to(device)
        velocity = torch.randint(0, config.num_velocities, (batch,), generator=g).to(device)
        notes = (instrument, pitch, velocity)
        paths = build_paths(model, config, device, args.dtypes, not args.no_reference)
        if args.numpy and device.type == "cpu":
            add_numpy_path(paths, model)
        times, cpu = interleaved_times(paths, notes, device, args.repeats, args.warmup)
        logger.info("batch %d timed (%s)", batch, machine_load())
        quality = bf16_quality(paths, notes)
        for (name, path), runs in times.items():
            seconds = statistics.median(runs)
            gflops = flops["total"] * batch / seconds / 1e9
            same = ratio(times, (name, "reference"), runs)
            fp32 = ratio(times, ("float32", "reference"), runs)
            q = quality.get(name if path != "numpy" else "numpy") if path != "reference" \
                else None
            cpu_fp32 = ratio(cpu, ("float32", "reference"), cpu[(name, path)])
            print(
                f"{batch:>5} {name:>8} {path:>9} {seconds / batch:>8.4f}"
                f" {batch * seconds_per_note / seconds:>9.1f} {flops['total'] / 1e9:>10.2f}"
                f" {gflops:>8.0f} {gflops / ceilings[name]:>7.0%} {same:>16.2f} {fp32:>10.2f}"
                f" {(f'{q:.2e}' if q is not None else '-'):>11}"
                f" {statistics.median(cpu[(name, path)]) / batch:>10.4f} {cpu_fp32:>16.2f}",
                flush=True,
            )
        del paths
    for name in args.dtypes:
        again = gemm_ceiling(DTYPES[name], device, args.gemm_size, args.repeats)
        print(f"# large-GEMM ceiling {name} re-measured at the end: {again:.0f} GFLOP/s")
    print(f"# machine at end: {machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
