"""Training speed: notes/s of each stage's training step, FLOPs per note, share of the GEMM
ceiling, and the data-loading rate beside it.

    python benchmarks/training.py                       # small and paper on CPU (+ CUDA bf16)
    python benchmarks/training.py --presets small --steps 5 --batch-size 8

Each stage is timed on its real training step (forward, backward, Adam) with the real model of
the preset, on one batch of real GM notes repeated: ``ae`` (autoencoder, spectral loss),
``seq`` (sequence generator, MSE on frames, truncated back-propagation over 32-step windows:
9 optimizer steps per batch), ``sing`` (end to end, spectral loss). FLOPs per note count the
convolutions, the LSTM and the linear layers (2 FLOPs per multiply-add; backward = 2 x
forward), not the STFT or element-wise work. The GEMM ceiling is a large matrix product timed
in the same run, in the same dtype. Data loading reads the same notes through the trainer's
DataLoader; it must be far faster than the slowest consumer.

``--compile`` also times each stage with its modules under ``torch.compile`` (inductor; the
LSTM stays eager: dynamo does not trace RNN modules), in the same run right after the eager
row: the first step's extra seconds (compiling), the steady rate, the ratio to eager and the
steps a run needs before the compiling pays for itself. ``notes/CPU-s`` divides by the
process's CPU time (all threads), which is what a shared machine has to give.
``--reference`` times the previous forms first (the encoder's and decoder's convolution
modules and the ``torch.stft`` spectrogram's L1 through autograd, as training ran before
issue 21; the new rows use the trainer's ``dsp.spectral_loss``, fused): "x first" is
each row's rate over the first mode's; ``--rounds`` interleaves the modes and prints medians.
``--shards N`` also times stages ``ae`` and ``sing`` the way the trainer runs them on a
multi-core CPU (:mod:`sing.training.shards`): the batch as N shards side by side, one CPU
thread each (the ``shards`` row; compare it with the eager row at ``--threads N``).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from sing import dsp
from sing.models import SING, Autoencoder, SingConfig
from sing.models import frames as frames_mod


def forward_flops(config: SingConfig, stage: str) -> float:
    """Forward FLOPs per note of the modules a stage trains (2 per multiply-add)."""
    c, d, w, k, h = (config.channels, config.frame_dim, config.window, config.context_size,
                     config.hidden_size)
    n = config.num_frames  # 265 frames for a 64,000-sample note
    m = n - k + 1  # frames after the decoder's context convolution
    encoder = 2 * n * (c * w + config.rewrite_layers * c * c + c * d)
    decoder = 2 * m * (d * c * k + config.rewrite_layers * c * c + c * w)
    lstm = 0
    for layer in range(config.num_layers):
        inp = config.input_dim if layer == 0 else h
        lstm += 2 * 4 * h * (inp + h)
    generator = n * (lstm + 2 * h * d)
    return {"ae": encoder + decoder, "seq": generator, "sing": generator + decoder}[stage]


def gemm_ceiling(device: torch.device, dtype: torch.dtype, size: int = 4096) -> float:
    """FLOP/s of a large square matrix product: the best of ``torch.matmul`` and, on the CPU,
    the oneDNN-packed product of :class:`sing.models.fast.GemmLinear` (about twice
    ``torch.matmul`` for float32 on the 2-core CPU), as in ``benchmarks/generation.py``."""
    from sing.models.fast import GemmLinear

    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    candidates = [lambda: a @ b]
    packed = GemmLinear(b, None, dtype)
    if packed.packed_weight is not None:
        candidates.append(lambda: packed(a))
    reps, best = 2 if device.type == "cpu" else 50, 0.0
    for fn in candidates:
        fn()
        _sync(device)
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                fn()
            _sync(device)
            best = max(best, reps * 2 * size**3 / (time.perf_counter() - t))
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def real_batch(data: Path, batch_size: int) -> dict[str, torch.Tensor]:
    """``batch_size`` train notes of a data set (repeated if it holds fewer)."""
    from sing.data.nsynth import NSynthDataset

    ds = NSynthDataset(data, split="train")
    items = [ds[i % len(ds)] for i in range(batch_size)]
    return {
        "wav": torch.stack([it["wav"] for it in items]),
        "instrument": torch.tensor([it["instrument"] % 3 for it in items]),
        "pitch": torch.tensor([it["pitch"] for it in items]),
        "velocity": torch.tensor([it["velocity"] for it in items]),
    }


def time_stage(preset: str, stage: str, batch: dict[str, torch.Tensor], device: torch.device,
               bf16: bool, steps: int, compile: bool = False,
               reference: bool = False, shards: int = 1) -> tuple[float, float, float]:
    """(wall seconds per training step (one batch) of ``stage`` after one warm-up step, CPU
    seconds per step, wall seconds of the warm-up step) ; ``compile``: the stage's modules
    under ``torch.compile``; ``reference``: the previous forms of the decoder
    (``Decoder.forward_conv``) and of the spectral loss (``dsp.stft_log_power_spectrogram``
    and an L1 distance, through autograd); ``shards``: the batch as that many shards side by
    side, one CPU thread each (:class:`sing.training.shards.ShardedGradient`, as the
    trainer)."""
    from sing.training.shards import ShardedGradient, single_threaded

    config = SingConfig.preset(preset, num_instruments=3)
    torch.manual_seed(0)
    wav = batch["wav"].to(device)
    sym = [batch[k].to(device) for k in ("instrument", "pitch", "velocity")]
    target = frames_mod.loss_target(wav, config)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    if stage == "ae":
        model = Autoencoder(config).to(device)
    else:
        model = SING(config).to(device)
    module = model.generator if stage == "seq" else model
    spectral_loss = dsp.spectral_loss  # the trainer's (the fused L1 when training)
    if reference:
        model.decoder.forward = model.decoder.forward_conv
        if stage == "ae":
            model.encoder.forward = model.encoder.forward_conv

        def spectral_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                reference_spec = dsp.stft_log_power_spectrogram(target)
            return torch.nn.functional.l1_loss(dsp.stft_log_power_spectrogram(out),
                                               reference_spec)
    opt = torch.optim.Adam(module.parameters(), lr=3e-4)
    if compile:
        if stage == "seq":
            model.generator = torch.compile(model.generator)
        else:
            model = torch.compile(model)
    if stage == "seq":
        with torch.no_grad():
            frames = Autoencoder(config).to(device).encode(wav)

    sharded = ShardedGradient(shards if stage != "seq" else 1)
    params = list(module.parameters())
    n = wav.shape[0]

    def shard_loss(notes: slice) -> torch.Tensor:
        with autocast:
            out = model(wav[notes], strip=False) if stage == "ae" else \
                model(*(s[notes] for s in sym), strip=False)
        return spectral_loss(out.float(), target[notes])

    def step() -> None:
        if stage == "seq":
            state = None
            for start in range(0, frames.shape[-1], 32):
                size = min(32, frames.shape[-1] - start)
                with autocast:
                    pred, state = model.generator(*sym, start=start, length=size, state=state)
                loss = torch.nn.functional.mse_loss(pred.float(),
                                                    frames[:, :, start:start + size])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                state = tuple(s.detach() for s in state)
            return
        opt.zero_grad(set_to_none=True)
        if shards > 1:
            sharded.gradients(shard_loss, n, params)
        else:
            shard_loss(slice(0, n)).backward()
        opt.step()

    with single_threaded(sharded.shards > 1), sharded:
        t = time.perf_counter()
        step()
        _sync(device)
        first = time.perf_counter() - t
        t, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        _sync(device)
    return ((time.perf_counter() - t) / steps, (time.process_time() - cpu) / steps, first)


def loading_rate(data: Path, batch_size: int, batches: int = 20) -> float:
    """Notes/s through the trainer's DataLoader (CPU settings: no workers)."""
    from torch.utils.data import DataLoader

    from sing.data.nsynth import NSynthDataset, collate_notes
    from sing.training.sampler import ResumableBatchSampler, epoch_order

    ds = NSynthDataset(data, split="train")
    notes = 0
    t = time.perf_counter()
    while notes < batches * batch_size:
        sampler = ResumableBatchSampler(epoch_order(len(ds), 0, notes), batch_size)
        for b in DataLoader(ds, batch_sampler=sampler, collate_fn=collate_notes):
            notes += b["wav"].shape[0]
    return notes / (time.perf_counter() - t)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default="small,paper")
    parser.add_argument("--stages", default="ae,seq,sing")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per stage")
    parser.add_argument("--data", type=Path, help="data set (default: build a small GM one)")
    parser.add_argument("--devices", default=None, help="cpu and/or cuda (default: both if any)")
    parser.add_argument("--compile", action="store_true",
                        help="also time each stage under torch.compile (inductor)")
    parser.add_argument("--reference", action="store_true",
                        help="also time each stage with the previous forms (convolution "
                             "decoder, torch.stft spectrogram), right before the eager row")
    parser.add_argument("--rounds", type=int, default=1,
                        help="time the modes in this many interleaved rounds; medians")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--shards", type=int, default=1,
                        help="also time stages ae and sing as N shards, one thread each")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    devices = (args.devices or ("cpu,cuda" if torch.cuda.is_available() else "cpu")).split(",")

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            from sing.data.soundfont import build_dataset
            from sing.data.split import make_split

            data = Path(tmp) / "gm"
            build_dataset(data, programs=(0, 40, 73), pitches=tuple(range(57, 65)),
                          progress=False)
            make_split(data)
        batch = real_batch(data, args.batch_size)
        load = loading_rate(data, args.batch_size)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
              f"batch {args.batch_size}, {args.steps} timed steps per stage")
        print(f"data loading (WAV files, no cache, no workers): {load:.0f} notes/s")
        fastest_stage = 0.0
        for dev in devices:
            device = torch.device(dev)
            for bf16 in ((False,) if dev == "cpu" else (True,)):
                dtype = torch.bfloat16 if bf16 else torch.float32
                ceiling = gemm_ceiling(device, dtype)
                print(f"\n{dev} {'bf16 autocast' if bf16 else 'float32'}: GEMM ceiling "
                      f"{ceiling / 1e9:.0f} GFLOP/s (4096^3 {str(dtype)[6:]} matmul, "
                      "best of torch and oneDNN)")
                print(f"{'preset':<7} {'stage':<5} {'mode':<9} {'notes/s':>9} "
                      f"{'notes/CPU-s':>11} {'s/step':>8} {'GFLOP/note':>11} {'GFLOP/s':>8} "
                      f"{'of GEMM':>8} {'1st step s':>10} {'x first':>8} {'x first CPU':>11} "
                      f"{'pays after':>10}")
                modes = (["reference"] if args.reference else []) + ["eager"] + \
                    (["compile"] if args.compile else []) + \
                    (["shards"] if args.shards > 1 and dev == "cpu" else [])
                for preset in args.presets.split(","):
                    config = SingConfig.preset(preset, num_instruments=3)
                    for stage in args.stages.split(","):
                        runs: dict[str, list[tuple[float, float, float]]] = {m: [] for m in modes}
                        for _ in range(args.rounds):
                            for mode in modes:
                                runs[mode].append(time_stage(
                                    preset, stage, batch, device, bf16, args.steps,
                                    compile=mode == "compile", reference=mode == "reference",
                                    shards=args.shards if mode == "shards" else 1))
                        base = None
                        for mode in modes:
                            sec, cpu, first = (statistics.median(r[i] for r in runs[mode])
                                               for i in range(3))
                            rate = args.batch_size / sec
                            fastest_stage = max(fastest_stage, rate)
                            flops = 3 * forward_flops(config, stage)
                            achieved = flops * rate
                            speedup = speedup_cpu = pays = ""
                            if base is None:
                                base = (sec, cpu)
                            else:
                                speedup = f"{base[0] / sec:.2f}"
                                speedup_cpu = f"{base[1] / cpu:.2f}"
                                saved = base[0] - sec
                                pays = f"{max(first - sec, 0.0) / saved:.0f} steps" if saved > 0 \
                                    else "never"
                            print(f"{preset:<7} {stage:<5} {mode:<9}"
                                  f" {rate:>9.2f} {args.batch_size / cpu:>11.2f} {sec:>8.3f} "
                                  f"{flops / 1e9:>11.2f} {achieved / 1e9:>8.1f} "
                                  f"{achieved / ceiling:>8.1%} {first:>10.1f} {speedup:>8} "
                                  f"{speedup_cpu:>11} {pays:>10}")
                            sys.stdout.flush()
        print(f"\ndata loading / fastest training stage: {load / fastest_stage:.0f}x "
              f"({'not' if load > 2 * fastest_stage else 'MAY BE'} the bottleneck)")
        print(f"(seq: {math.ceil(265 / 32)} optimizer steps per batch; frames read from a "
              "memmap, not the audio)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
