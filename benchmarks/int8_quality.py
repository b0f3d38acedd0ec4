"""int8 quality and speed of a trained model: the int8 plan, and the relative spectral loss
against float32 of the planned int8 and of every part in int8, on notes the plan never saw.

    .venv/bin/python benchmarks/int8_quality.py                      # the shipped model
    .venv/bin/python benchmarks/int8_quality.py --data gm/data --notes 512   # held-out notes

Prints the plan (:func:`sing.models.int8_plan.plan_int8`: which parts run in int8, each part's
error alone), then per network: the relative spectral loss (``spectral_loss(x, float32) /
mean log-power(float32)``, issue 21's check: < 1%) over ``--notes`` whole notes (the test split
of ``--data``, else seeded random notes of the vocabulary) and CPU-seconds per note at
``--batch-size``.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

import torch

from sing import api
from sing.generation import fast_copy, resolve_notes
from sing.models.fast import FastSING
from sing.models.int8_plan import plan_int8, relative_spectral_loss

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "sing" / "pretrained" / "gm.safetensors"


def note_names(model, data: Path | None, count: int, seed: int) -> list[str]:
    """``count`` note names: a seeded subset of ``data``'s test split, else random notes."""
    rng = random.Random(seed)
    if data is not None:
        from sing.data.nsynth import NSynthDataset

        names = NSynthDataset(data, split="test").names
        return sorted(rng.sample(names, min(count, len(names))))
    v = model.vocabulary
    return [f"{rng.choice(v.instruments)}-{rng.randint(v.pitch_min, v.pitch_max):03d}-"
            f"{rng.choice(v.velocities):03d}" for _ in range(count)]


def main() -> None:
    """Run the measurement and print it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=SHIPPED)
    parser.add_argument("--data", type=Path, default=None, help="notes of its test split")
    parser.add_argument("--notes", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = api.load_model(args.model)
    notes = resolve_notes(model.vocabulary, note_names(model, args.data, args.notes, args.seed))
    tensors = [torch.tensor([getattr(n, k) for n in notes]) for k in
               ("instrument", "pitch", "velocity")]
    print(f"# {args.model.name}, {len(notes)} notes "
          f"({'test split of ' + args.data.name if args.data else 'random'}), batch "
          f"{args.batch_size}, {platform.machine()}, {torch.get_num_threads()} threads")
    start = time.process_time()
    plan = plan_int8(model)  # what the generation path's int8 copy runs (fast_copy)
    plan_s = time.process_time() - start
    planned = plan.copy
    print(f"# {plan.describe()}; planning {plan_s:.2f} CPU-s")
    if plan.alone:
        print("# each part alone in int8: " + ", ".join(f"{k} {v:.2%}"
                                                        for k, v in plan.alone.items()))
    networks = {"float32": fast_copy(model, torch.float32), "int8 (plan)": planned,
                "int8 (every part)": FastSING(model, dtype=torch.int8)}
    outputs: dict[str, torch.Tensor] = {}
    print(f"{'network':<20}{'spec/logpow':>12}{'CPU-s/note':>12}{'x float32':>11}")
    seconds: dict[str, float] = {}
    for name, net in networks.items():
        chunks = []
        start = time.process_time()
        with torch.inference_mode():
            for i in range(0, len(notes), args.batch_size):
                chunks.append(net(*(t[i:i + args.batch_size] for t in tensors)))
        seconds[name] = (time.process_time() - start) / len(notes)
        outputs[name] = torch.cat(chunks)
        loss = relative_spectral_loss(outputs[name], outputs["float32"])
        print(f"{name:<20}{loss:>12.2%}{seconds[name]:>12.4f}"
              f"{seconds['float32'] / seconds[name]:>11.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
