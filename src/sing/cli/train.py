"""`sing train` (the paper's three stages) and `sing plot` (training curves)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from sing.cli.options import add_options, config_from_args
from sing.training.config import TrainConfig

logger = logging.getLogger(__name__)


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
    add_options(p, TrainConfig)
    p.set_defaults(func=cmd_train)

    q = sub.add_parser("plot", help="draw a run's training curves to a PNG",
                       description="Draw the curves of RUN_DIR/metrics.jsonl to a PNG.")
    q.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    q.add_argument("-o", "--out", type=Path, help="PNG file (default RUN_DIR/curves.png)")
    q.set_defaults(func=cmd_plot)


def cmd_train(args: argparse.Namespace) -> int:
    """Run `sing train`; returns 0, or 128 + signal number when stopped by SIGINT/SIGTERM."""
    from sing.training.trainer import TrainingInterrupted, train

    config = config_from_args(TrainConfig, args)
    _check_run_folder(config)
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


def _check_run_folder(config: TrainConfig) -> None:
    """The run folder may not be (or lie inside) the data folder, nor hold an input model file
    of the run in its place (``--init-model RUN_DIR``)."""
    from sing.errors import SingError
    from sing.utils.outputs import is_inside

    if is_inside(config.out, config.data):
        raise SingError(f"the run folder would mix with the data folder {config.data} (an "
                        "input of this command); choose another --out", config.out)
    for source in (config.init_model, config.init_from, config.init_autoencoder):
        if source is not None and is_inside(config.out, source):
            raise SingError(f"is the input model {source}; choose another --out", config.out)


def cmd_plot(args: argparse.Namespace) -> int:
    """Run `sing plot`: write the curves PNG and print its path."""
    from sing.training.curves import plot_metrics

    out = args.out if args.out is not None else args.run_dir / "curves.png"
    print(plot_metrics(args.run_dir, out))
    return 0
