"""`sing listening-report answers.csv`: the statistics of a blind listening test."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``listening-report`` on the `sing` parser."""
    p = sub.add_parser(
        "listening-report",
        help="ABX accuracy and preference rates of a listening test (`sing app`'s answers)",
        description="Read the answers CSV of `sing app`'s Listen tab; print ABX accuracy and "
        "pairwise preference rates with exact two-sided binomial p-values against chance and "
        "exact (Clopper-Pearson) 95%% intervals, per instrument family and overall, and write "
        "them as JSON and Markdown (OUT.json, OUT.md; default: beside the CSV, "
        "NAME.report.json and NAME.report.md).",
    )
    p.add_argument("answers", type=Path, help="the answers CSV")
    p.add_argument("--out", type=Path, default=None,
                   help="path prefix of the JSON and Markdown files")
    p.set_defaults(func=cmd_listening_report)


def cmd_listening_report(args: argparse.Namespace) -> int:
    """``sing listening-report answers.csv [--out PREFIX]``."""
    from sing.evaluation.listening import write_report

    json_path, md_path, text = write_report(args.answers, args.out)
    print(text)
    logger.info("wrote %s and %s", json_path, md_path)
    return 0
