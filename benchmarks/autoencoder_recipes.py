"""Stage-1 recipes against the clock: held-out spectral L1 and loud-bin error of an autoencoder.

Trains one autoencoder (stage 1 only) for a wall-clock budget and prints, every
``--eval-every`` seconds, the spectral L1 and the loud-bin error (mean |log-power error| over
the STFT bins where the ground truth's log(1 + |STFT|^2) > 1) on the held-out test notes.
It is how docs/results.md's "what limits quality" table was measured; run several recipes side
by side (one thread each) to compare them under the same load::

    sing dataset build --out data/demo --duration 1 --hold 0.75 && sing dataset split data/demo
    OMP_NUM_THREADS=1 python benchmarks/autoencoder_recipes.py --data data/demo \\
        --recipe paper --minutes 10 &
    OMP_NUM_THREADS=1 python benchmarks/autoencoder_recipes.py --data data/demo \\
        --recipe warmup --channels 2048 --rewrite-layers 0 --minutes 10 &

Recipes: ``paper`` (spectral loss from the first step), ``wav`` (waveform MSE only),
``warmup`` (``sing train``'s default: ``--ae-warmup`` steps of waveform MSE, then the spectral
loss plus ``--ae-wav-weight`` x the relative waveform MSE).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from sing import dsp
from sing.data.nsynth import NSynthDataset, collate_notes
from sing.models import Autoencoder, SingConfig, frames
from sing.training.losses import stage_loss


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="data set folder with split.json")
    p.add_argument("--preset", default="small")
    p.add_argument("--channels", type=int, default=None, help="override the preset's channels")
    p.add_argument("--rewrite-layers", type=int, default=None)
    p.add_argument("--recipe", choices=("paper", "wav", "warmup"), default="warmup")
    p.add_argument("--ae-warmup", type=int, default=200)
    p.add_argument("--ae-wav-weight", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--eval-every", type=float, default=60.0, help="seconds")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    torch.manual_seed(args.seed)
    train_set = NSynthDataset(args.data, split="train")
    test_set = NSynthDataset(args.data, split="test")
    train_wav = collate_notes(train_set.__getitems__(list(range(len(train_set)))))["wav"]
    test_wav = collate_notes(test_set.__getitems__(list(range(len(test_set)))))["wav"]
    overrides = {k: v for k, v in (("channels", args.channels),
                                   ("rewrite_layers", args.rewrite_layers)) if v is not None}
    config = SingConfig.for_vocabulary(train_set.vocabulary, args.preset, **overrides)
    model = Autoencoder(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    warmup = {"paper": 0, "wav": 0, "warmup": args.ae_warmup}[args.recipe]
    weight = args.ae_wav_weight if args.recipe == "warmup" else 0.0
    loss_kind = "wav" if args.recipe == "wav" else "spectral"
    print(f"{args.recipe}: {config.channels} channels, {config.rewrite_layers} rewrite layers, "
          f"{sum(t.numel() for t in model.parameters()):,} parameters, "
          f"{len(train_wav)} train / {len(test_wav)} test notes")

    @torch.no_grad()
    def held_out() -> tuple[float, float]:
        model.eval()
        spectral, loud, loud_bins = 0.0, 0.0, 0
        for i in range(0, len(test_wav), 32):
            wav = test_wav[i:i + 32]
            target = dsp.log_power_spectrogram(frames.loss_target(wav, config))
            error = (dsp.log_power_spectrogram(model(wav, strip=False)) - target).abs()
            spectral += float(error.mean(dim=(1, 2)).sum())
            mask = target > 1
            loud += float(error[mask].sum())
            loud_bins += int(mask.sum())
        model.train()
        return spectral / len(test_wav), loud / max(loud_bins, 1)

    generator = torch.Generator().manual_seed(args.seed)
    started, step, last, history = time.monotonic(), 0, -float("inf"), []
    while True:
        elapsed = time.monotonic() - started
        if elapsed - last >= args.eval_every or elapsed > 60 * args.minutes:
            spectral, loud = held_out()
            last = elapsed
            history.append({"s": round(elapsed), "step": step, "spectral_l1": round(spectral, 4),
                            "loud_l1": round(loud, 3)})
            print(f"t={elapsed:6.0f}s step={step:5d} held-out spectral L1 {spectral:.4f}, "
                  f"loud-bin error {loud:.3f}", flush=True)
            if elapsed > 60 * args.minutes:
                break
        wav = train_wav[torch.randint(len(train_wav), (args.batch_size,), generator=generator)]
        loss = stage_loss(model(wav, strip=False), frames.loss_target(wav, config), loss_kind,
                          "ae", step, warmup, weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
    print(json.dumps({"args": vars(args), "history": history}))


if __name__ == "__main__":
    main()
