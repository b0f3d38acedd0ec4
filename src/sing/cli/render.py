"""`sing render SONG.mid --out song.wav`: a MIDI file played by a SING model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.validate import BATCH_SIZE, integer

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``render`` on the `sing` parser."""
    r = sub.add_parser(
        "render",
        help="play a MIDI file with a SING model, to a 16-bit WAV",
        description="Render a Standard MIDI File with a SING model: each track's General MIDI "
        "program plays the model's instrument of that program (models trained on our FluidR3 "
        "sets), or the one --program-map / --instrument names (any other model). Velocities "
        "go to the model's nearest one; pitches outside its range move by octaves; drums "
        "(channel 10) are skipped. Each distinct note is generated once; the mix is "
        "normalised to -1 dBFS.",
    )
    r.add_argument("midi", type=Path, help="a Standard MIDI File (.mid)")
    r.add_argument("--out", type=Path, required=True, help="the WAV file to write")
    r.add_argument(
        "--model", type=Path,
        help="a SING .safetensors model file (default: the model shipped in the package)",
    )
    r.add_argument("--sample-rate", type=integer(1000, 384_000),
                   help="resample the mix to this rate with soxr (default: the model's)")
    r.add_argument(
        "--program-map", action="append", default=[], metavar="PROGRAM=INSTRUMENT",
        help="which instrument plays a GM program (0-127, or a range 40-47); repeatable; "
        "the instrument may be a blend 'a:0.7,b:0.3'",
    )
    r.add_argument(
        "--instrument",
        help="one instrument (or a blend 'name:weight,name:weight') for every track",
    )
    r.add_argument("--batch-size", type=BATCH_SIZE, default=64, help="notes per forward pass")
    r.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    r.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                   help="compute dtype of the fast path's matrix products (CPU)")
    r.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    """``sing render SONG.mid --out song.wav [--model M] ...``."""
    import torch
    from tqdm import tqdm

    from sing.midi import render
    from sing.midi.programs import parse_program_map
    from sing.midi.reader import read_midi
    from sing.models.io import load_model
    from sing.pretrained import resolve_model_path
    from sing.utils.device import resolve_device

    program_map = parse_program_map(args.program_map)
    out = render.check_output(args.out)
    model_path = resolve_model_path(args.model)
    device = resolve_device(args.device)
    score = read_midi(args.midi)
    model, info = load_model(model_path, device=device, kind="sing")
    model.info = info
    if torch.device(device).type != "cpu" and args.dtype == "bfloat16":
        model.to(torch.bfloat16)
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    plan = render.plan_render(model, score, program_map, args.instrument)
    with tqdm(total=len(plan.keys), unit="note", desc="render", disable=None) as bar:
        waves = render.generate_plan(model, plan, batch_size=args.batch_size, dtype=dtype,
                                     progress=bar.update)
    mix, rate = render.finish_mix(render.mix_plan(plan, waves), plan.sample_rate,
                                  args.sample_rate)
    render.write_wav(out, mix, rate)
    logger.info("wrote %s: %.1f s at %d Hz, %d notes (%d distinct generated)", out,
                len(mix) / rate, rate, len(score.notes), len(plan.keys))
    return 0
