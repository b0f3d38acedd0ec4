"""`sing experiment table1 | curve | gm-model`: the paper's experiments and the shipped model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.options import add_device_option, add_options, config_from_args
from sing.cli.validate import BATCH_SIZE, LEARNING_RATE, POSITIVE_COUNT, integer
from sing.errors import SingError
from sing.recipes.gm_model import DEFAULT_JOBS, JOBS, GmRecipe, parse_epochs

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``sing experiment ...`` on the `sing` parser."""
    p = sub.add_parser("experiment", help="reproduce the paper's experiments")
    exp = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    t = exp.add_parser(
        "table1",
        help="train the five rows of the paper's Table 1 and print them beside the paper's",
    )
    t.add_argument("--data", required=True, type=Path, help="jsonwav data folder (with split)")
    t.add_argument("--preset", default="small", help="model preset (paper, medium, small, tiny)")
    t.add_argument("--out", required=True, type=Path, help="experiment folder (one run per row)")
    t.add_argument("--epochs", default=None,
                   help="epochs per stage AE,SEQ,SING (default: the preset's recipe)")
    t.add_argument("--batch-size", type=BATCH_SIZE, default=None)
    t.add_argument("--lr", type=LEARNING_RATE, default=3e-4,
                   help="Adam learning rate (paper: 3e-4)")
    t.add_argument("--max-notes", type=POSITIVE_COUNT, default=None,
                   help="train on a seeded subset of N notes per split (default: all)")
    t.add_argument("--train-subset", type=POSITIVE_COUNT, default=None,
                   help="notes of the train split used for the 'train' columns (default all)")
    t.add_argument("--warm-start", action="store_true",
                   help="start the spectral-loss autoencoder from the waveform-loss one (CPU "
                        "scale: from scratch, a small spectral autoencoder falls silent)")
    t.add_argument("--ae-lr", type=LEARNING_RATE, default=None,
                   help="stage 1's learning rate (default: --lr)")
    t.add_argument("--ae-batch-size", type=BATCH_SIZE, default=None,
                   help="stage 1's batch size (default: --batch-size)")
    t.add_argument("--seeds", default="42",
                   help="comma-separated seeds; each trains the whole table into OUT/seed-N "
                        "and OUT/table1.md shows them side by side (default 42)")
    add_device_option(t)
    t.set_defaults(func=cmd_table1)

    c = exp.add_parser(
        "curve",
        help="a learning curve over model sizes: held-out quality against CPU minutes",
        description="Trains every preset of --presets (three stages each, same data and "
        "options, into OUT/PRESET; a rerun reuses finished runs), evaluates each final model "
        "on the held-out test pairs beside resample, ground truth and silence, and writes "
        "OUT/learning_curve.png (valid spectral L1 per epoch against cumulative CPU minutes; "
        "final test spectral L1 against total CPU minutes), learning_curve.md and .json.",
    )
    c.add_argument("--data", required=True, type=Path, help="jsonwav data folder (with split)")
    c.add_argument("--presets", required=True,
                   help="comma-separated model presets, e.g. tiny,small,medium")
    c.add_argument("--out", required=True, type=Path, help="experiment folder (one run per "
                   "preset)")
    c.add_argument("--epochs", default=None,
                   help="epochs per stage AE,SEQ,SING, the same for every preset (default 4,8,2)")
    c.add_argument("--batch-size", type=BATCH_SIZE, default=None)
    c.add_argument("--lr", type=LEARNING_RATE, default=3e-4,
                   help="Adam learning rate (paper: 3e-4)")
    c.add_argument("--max-notes", type=POSITIVE_COUNT, default=None,
                   help="train on a seeded subset of N notes per split (default: all; the "
                        "held-out evaluation uses the whole test split)")
    c.add_argument("--eval-notes", type=POSITIVE_COUNT, default=256,
                   help="valid notes evaluated after each epoch (the curve; default 256)")
    c.add_argument("--parallel", type=integer(1, 64), default=1,
                   help="train K presets at once, in child processes of one thread each")
    c.add_argument("--paper-recipe", action="store_true",
                   help="the paper's stage 1 (no waveform warm-up, no waveform anchor)")
    add_device_option(c)
    c.set_defaults(func=cmd_curve)

    g = exp.add_parser(
        "gm-model",
        help="the shipped General MIDI model: FluidR3 data, three stages, held-out metrics, "
             "float16 export (resumable: rerun the same command)",
        description="Renders all 128 melodic GM programs of FluidR3_GM (five velocities) into "
        "OUT/data, splits it, trains stage 1 (OUT/run-autoencoder) and stages 2-3 (OUT/run), "
        "evaluates the held-out test pairs beside resample and the ground truth, writes "
        "OUT/gm-model.md and .json and the float16 model OUT/gm.safetensors; --install copies "
        "it into the package. Every step is reused on a rerun: kill it and rerun the same "
        "command to go on.",
    )
    g.add_argument("--out", required=True, type=Path, help="experiment folder")
    add_options(g, GmRecipe)
    g.add_argument("--jobs", type=JOBS, default=DEFAULT_JOBS,
                   help=f"processes rendering the data set (default {DEFAULT_JOBS}; same bytes)")
    g.add_argument("--install", action="store_true",
                   help="copy the model into the package (sing/pretrained/gm.safetensors; "
                        "refused over 50 MB)")
    add_device_option(g)
    g.set_defaults(func=cmd_gm_model)

    k = exp.add_parser(
        "gm-continue",
        help="a continued GM model (sing train --init-model runs): held-out pairs beside the "
             "model it continued, family by family, float16 export (and --install)",
        description="MODEL is the model file of the last `sing train --init-model` run of a "
        "chain that starts from a `sing experiment gm-model` file (e.g. the shipped one). Both "
        "are evaluated on every held-out test pair of DATA (float16 weights, as shipped); "
        "OUT/gm.safetensors carries the base's recipe, each run's command and times and the "
        "new held-out metrics; OUT/gm-continue.json the comparison. --install copies it into "
        "the package only if it beats the base on every family (spectral L1 and pitch "
        "accuracy), or with --force.",
    )
    k.add_argument("--model", required=True, type=Path, help="RUN/model.safetensors")
    k.add_argument("--data", required=True, type=Path, help="the GM data folder (with split)")
    k.add_argument("--out", required=True, type=Path, help="folder for the export and report")
    k.add_argument("--install", action="store_true",
                   help="copy the export into the package when it is better everywhere")
    k.add_argument("--force", action="store_true", help="with --install: install anyway")
    add_device_option(k)
    k.set_defaults(func=cmd_gm_continue)


def _check_experiment_folder(out: Path, data: Path) -> None:
    """An experiment folder may not be the data folder nor lie inside it."""
    from sing.utils.outputs import is_inside

    if is_inside(out, data):
        raise SingError(f"the experiment folder would mix with the data folder {data} (an "
                        "input of this command); choose another --out", out)


def cmd_table1(args: argparse.Namespace) -> int:
    """`sing experiment table1`: the paper's five rows, trained and evaluated."""
    from sing.recipes.table1 import run_table1_seeds
    from sing.utils.device import resolve_device

    _check_experiment_folder(args.out, args.data)
    seeds = parse_seeds(args.seeds)
    device = str(resolve_device(args.device))

    table = run_table1_seeds(
        seeds, args.out, data=args.data, preset=args.preset,
        epochs=parse_epochs(args.epochs) if args.epochs else None,
        batch_size=args.batch_size, train_subset=args.train_subset, device=device,
        lr=args.lr, max_notes=args.max_notes, warm_start=args.warm_start,
        ae_lr=args.ae_lr, ae_batch_size=args.ae_batch_size,
    )
    print(table)
    return 0


def cmd_gm_continue(args: argparse.Namespace) -> int:
    """`sing experiment gm-continue`: a continued GM model, compared, exported (installed)."""
    import sing.pretrained
    from sing.recipes.gm_continue import comparison_markdown, continue_gm_model
    from sing.utils.device import resolve_device

    _check_experiment_folder(args.out, args.data)
    report = continue_gm_model(
        args.model, args.data, args.out, device=str(resolve_device(args.device)),
        install_to=sing.pretrained.SHIPPED_MODEL if args.install else None, force=args.force)
    print(comparison_markdown(report), end="")
    print(f"model: {report['model']}" + (f" (installed as {report['installed']})"
                                         if report["installed"] else ""))
    return 0


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"42,43"`` -> ``(42, 43)``: distinct non-negative integers (SingError otherwise)."""
    try:
        seeds = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise SingError(f"--seeds takes comma-separated integers, got '{text}'") from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise SingError(f"--seeds takes distinct non-negative integers, got '{text}'")
    return seeds


def cmd_curve(args: argparse.Namespace) -> int:
    """`sing experiment curve`: presets trained side by side, quality against CPU minutes;
    returns 0, or 128 + signal number when stopped by SIGINT/SIGTERM (rerun to resume)."""
    from sing.recipes.learning_curve import parse_presets, run_learning_curve
    from sing.training.trainer import TrainingInterrupted
    from sing.utils.device import resolve_device

    presets = parse_presets(args.presets)
    epochs = parse_epochs(args.epochs) if args.epochs else None
    _check_experiment_folder(args.out, args.data)
    device = str(resolve_device(args.device))
    try:
        table = run_learning_curve(
            data=args.data, presets=presets, out=args.out, epochs=epochs,
            batch_size=args.batch_size, lr=args.lr, device=device, max_notes=args.max_notes,
            parallel=args.parallel, paper_recipe=args.paper_recipe, eval_notes=args.eval_notes,
        )
    except TrainingInterrupted as stop:
        print(f"sing: {stop}", flush=True)
        return 128 + stop.signum
    print(table)
    return 0


def cmd_gm_model(args: argparse.Namespace) -> int:
    """`sing experiment gm-model`: the shipped model, trained, evaluated, exported (and
    installed); returns 0, or 128 + signal number when stopped by SIGINT/SIGTERM (rerun to
    resume)."""
    import sing.pretrained
    from sing.recipes.gm_model import run_gm_model, summary_line
    from sing.training.trainer import TrainingInterrupted
    from sing.utils.device import resolve_device

    recipe = config_from_args(GmRecipe, args)
    device = str(resolve_device(args.device))
    try:
        result = run_gm_model(
            args.out, recipe, device=device, jobs=args.jobs,
            install_to=sing.pretrained.SHIPPED_MODEL if args.install else None,
        )
    except TrainingInterrupted as stop:
        print(f"sing: {stop}", flush=True)
        return 128 + stop.signum
    print(f"model: {result.export}" + (f" (installed as {result.installed})"
                                       if result.installed else ""))
    print(f"report: {result.report_md}")
    print(summary_line(result.report))
    return 0
