"""`sing app`: the model in the browser (Gradio): play, blend, render, and a listening test."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.validate import COUNT, SEED, integer

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``app`` on the `sing` parser."""
    p = sub.add_parser(
        "app",
        help="a web page to play, blend and render notes, and a blind listening test",
        description="Serve a local web page (Gradio; no network needed): Play a note of an "
        "instrument or a blend with its spectrogram, Render a MIDI file or the bundled canon, "
        "and Listen: a blind ABX and preference test on the held-out notes of --listen-data, "
        "each answer appended at once to --answers (see `sing listening-report`).",
    )
    p.add_argument("--model", type=Path, default=None,
                   help="a SING .safetensors model file (default: the shipped GM model)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=integer(1, 65535), default=7860, help="port to listen on")
    p.add_argument("--listen-data", type=Path, default=None,
                   help="data folder (with split.json) whose held-out notes the test plays")
    p.add_argument("--listen-split", default="test", choices=("test", "valid"),
                   help="the held-out split")
    p.add_argument("--listen-limit", type=COUNT, default=None,
                   help="use a random subset of N held-out notes")
    p.add_argument("--answers", type=Path, default=Path("answers.csv"),
                   help="the CSV the answers are appended to (default ./answers.csv)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the trial orders")
    p.set_defaults(func=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    """``sing app [--model M] [--host H] [--port P] [--listen-data DATA]``."""
    from sing.app.ui import offline_environment

    offline_environment()
    import sing.api
    from sing.app.listening import AnswerLog, HeldOutNotes, ListeningTest
    from sing.app.session import AppSession
    from sing.app.ui import Files, build_app, launch
    from sing.errors import SingError

    logging.getLogger("httpx").setLevel(logging.WARNING)
    answers = None
    if args.listen_data is not None:  # refuse a bad folder or CSV before loading anything
        from sing.data.split import SPLIT_FILE

        if not (args.listen_data / SPLIT_FILE).is_file():
            raise SingError(f"not a data folder with a {SPLIT_FILE} (make one with "
                            "`sing dataset split`)", args.listen_data)
        answers = AnswerLog(args.answers)
    model = sing.api.load_model(args.model)
    session = AppSession(model)
    listening = None
    if answers is not None:
        held = HeldOutNotes(model, args.listen_data, split=args.listen_split,
                            limit=args.listen_limit)
        listening = ListeningTest(held, answers, seed=args.seed)
        logger.info("listening test: %d held-out notes of %s; answers to %s",
                    len(held.notes), args.listen_data, args.answers)
    session.warm_up()
    files = Files()
    try:
        demo = build_app(session, listening, files)
        print(f"sing app: serving on http://{args.host}:{args.port}", flush=True)
        launch(demo, args.host, args.port)  # blocks until stopped
    finally:
        files.close()
    return 0
