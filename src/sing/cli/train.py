"""`sing train` (the paper's three stages) and `sing plot` (training curves)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from sing.cli.validate import (
    BATCH_SIZE,
    COUNT,
    LEARNING_RATE,
    POSITIVE_COUNT,
    SEED,
    integer,
    real,
)
from sing.training.config import DEFAULT_AE_WARMUP, DEFAULT_AE_WAV_WEIGHT

logger = logging.getLogger(__name__)

EPOCHS = integer(0, 10**5)


def register(sub: argparse._SubParsersAction) -> None:
    """Register `sing train` and `sing plot` on the `sing` parser."""
    p = sub.add_parser(
        "train",
        help="train SING: autoencoder, sequence generator, end-to-end (resumable, torchrun-ready)",
        description=(
            "Train SING in the paper's three stages: (ae) the autoencoder on waveforms, (seq) "
            "the LSTM sequence generator on the frozen encoder's frames with truncated "
            "back-propagation, (sing) LSTM + decoder end to end. Rerunning the same command "
            "resumes from RUN_DIR/checkpoint.pt. Under `torchrun --nproc_per_node N` it uses "
            "DistributedDataParallel; --batch-size stays the global batch."
        ),
    )
    p.add_argument("--data", type=Path, required=True, help="data set folder (with split.json)")
    p.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="run folder")
    p.add_argument("--preset", default="small", help="model preset: paper, medium, small or tiny")
    p.add_argument("--loss", default="spectral", choices=("spectral", "wav"),
                   help="loss of stages 1 and 3 (default: spectral)")
    p.add_argument("--no-time-embedding", action="store_true",
                   help="do not feed the LSTM the time embedding (paper's ablation)")
    p.add_argument("--epochs-ae", type=EPOCHS, default=50, help="stage 1 epochs (default 50)")
    p.add_argument("--epochs-seq", type=EPOCHS, default=50, help="stage 2 epochs (default 50)")
    p.add_argument("--epochs-sing", type=EPOCHS, default=20, help="stage 3 epochs (default 20)")
    p.add_argument("--batch-size", type=BATCH_SIZE, default=64,
                   help="global batch size (default 64)")
    p.add_argument("--lr", type=LEARNING_RATE, default=3e-4,
                   help="Adam learning rate (default 3e-4)")
    p.add_argument("--ae-warmup", type=integer(0, 10**9), default=None, metavar="STEPS",
                   help="stage 1 first learns the waveform (MSE) for STEPS optimizer steps, "
                        "so the spectral loss does not start from silence (default "
                        f"{DEFAULT_AE_WARMUP}; 0 with --paper-recipe)")
    p.add_argument("--ae-wav-weight", type=real(0, 10**6), default=None, metavar="W",
                   help="stage 1 adds W x the relative waveform MSE to the spectral loss after "
                        f"the warm-up (default {DEFAULT_AE_WAV_WEIGHT:g}; 0 with --paper-recipe)")
    p.add_argument("--paper-recipe", action="store_true",
                   help="the paper's stage 1 exactly: spectral loss from the first step "
                        "(--ae-warmup 0 --ae-wav-weight 0)")
    p.add_argument("--pitch-smoothness", type=real(0, 10**6), default=0.0, metavar="W",
                   help="stages 2 and 3 add W x the roughness of the pitch embedding along the "
                        "pitch axis, so held-out pitches borrow from their neighbours (default "
                        "0, the paper's)")
    p.add_argument("--seed", type=SEED, default=42, help="seed (model init, data order)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--bf16", action="store_true", help="autocast forward passes to bfloat16")
    p.add_argument("--stages", default="ae,seq,sing",
                   help="comma-separated stages to run (default ae,seq,sing)")
    p.add_argument("--init-autoencoder", type=Path, metavar="FILE",
                   help="start from this autoencoder file (e.g. with --stages seq,sing)")
    p.add_argument("--init-model", type=Path, metavar="FILE",
                   help="start from this SING model file (e.g. with --stages sing)")
    p.add_argument("--resume", action="store_true",
                   help="require RUN_DIR/checkpoint.pt (a run is resumed anyway when it exists)")
    p.add_argument("--checkpoint-every", type=real(0, 10**6), default=10.0, metavar="MINUTES",
                   help="minutes between mid-epoch checkpoints (default 10; 0 = every step)")
    p.add_argument("--max-notes", type=POSITIVE_COUNT, metavar="N",
                   help="use at most N notes of each split (a fixed seeded subset)")
    p.add_argument("--eval-notes", type=COUNT, default=256, metavar="N",
                   help="notes of the train subset and of valid evaluated per epoch (256)")
    p.add_argument("--window", type=integer(1, 10**5), default=32,
                   help="truncated back-propagation window of stage 2, in frames (32)")
    p.add_argument("--workers", type=integer(0, 256), default=None,
                   help="data-loading workers (default 0 on CPU, 4 on CUDA)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_train)

    q = sub.add_parser("plot", help="draw a run's training curves to a PNG",
                       description="Draw the curves of RUN_DIR/metrics.jsonl to a PNG.")
    q.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    q.add_argument("-o", "--out", type=Path, help="PNG file (default RUN_DIR/curves.png)")
    q.set_defaults(func=cmd_plot)


def stage1_options(ae_warmup: int | None, ae_wav_weight: float | None,
                   paper_recipe: bool) -> tuple[int, float]:
    """The stage-1 warm-up and waveform anchor: the defaults, the paper's zeros, or the
    values given (an explicit value wins over ``--paper-recipe``'s zero)."""
    base = (0, 0.0) if paper_recipe else (DEFAULT_AE_WARMUP, DEFAULT_AE_WAV_WEIGHT)
    return (base[0] if ae_warmup is None else ae_warmup,
            base[1] if ae_wav_weight is None else ae_wav_weight)


def cmd_train(args: argparse.Namespace) -> int:
    """Run `sing train`; returns 0, or 128 + signal number when stopped by SIGINT/SIGTERM."""
    from sing.training.config import TrainConfig
    from sing.training.trainer import TrainingInterrupted, train

    ae_warmup, ae_wav_weight = stage1_options(args.ae_warmup, args.ae_wav_weight,
                                              args.paper_recipe)
    config = TrainConfig(
        data=args.data, out=args.out, preset=args.preset, loss=args.loss,
        time_embedding=not args.no_time_embedding, epochs_ae=args.epochs_ae,
        epochs_seq=args.epochs_seq, epochs_sing=args.epochs_sing, batch_size=args.batch_size,
        lr=args.lr, ae_warmup=ae_warmup, ae_wav_weight=ae_wav_weight,
        pitch_smoothness=args.pitch_smoothness, seed=args.seed, device=args.device,
        bf16=args.bf16, stages=args.stages,
        init_autoencoder=args.init_autoencoder, init_model=args.init_model, resume=args.resume,
        checkpoint_every=args.checkpoint_every, max_notes=args.max_notes,
        eval_notes=args.eval_notes, window=args.window, num_workers=args.workers,
        progress=not args.no_progress,
    )
    main_rank = os.environ.get("RANK", "0") == "0"
    try:
        path = train(config)
    except TrainingInterrupted as stop:
        if main_rank:
            print(f"sing: {stop}", flush=True)
        return 128 + stop.signum
    if main_rank:
        print(path)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Run `sing plot`: write the curves PNG and print its path."""
    from sing.training.curves import plot_metrics

    out = args.out if args.out is not None else args.run_dir / "curves.png"
    print(plot_metrics(args.run_dir, out))
    return 0
