"""`sing render SONG.mid --out song.wav`: a MIDI file played by a SING model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.options import add_device_option, add_dtype_option
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
    add_device_option(r)
    add_dtype_option(r, names=True)  # float32 on the CPU renders without torch
    r.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    """``sing render SONG.mid --out song.wav [--model M] ...``.

    The WAV may not be (or link to) the MIDI file or the model, nor an existing non-regular
    file; its lock is held while it is written (a second render to it stops in one line), the
    temporaries of a killed render of it are removed, and SIGTERM cleans up like Ctrl-C.
    """
    from sing.utils.interrupt import interrupt_on_sigterm

    interrupt_on_sigterm()
    from tqdm import tqdm

    from sing.midi.programs import parse_program_map
    from sing.midi.render import render_file
    from sing.pretrained import resolve_model_path
    from sing.utils.outputs import check_output

    program_map = parse_program_map(args.program_map)
    model_path = resolve_model_path(args.model)
    out = check_output(args.out, inputs=[args.midi, model_path], what=".wav")
    device = args.device
    if device != "cpu":  # the CPU needs no torch.device: float32 renders there without torch
        from sing.utils.device import resolve_device

        device = resolve_device(args.device)
    with tqdm(unit="note", desc="render", disable=None) as bar:  # render_file holds the lock

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done)

        render_file(model_path, args.midi, out, sample_rate=args.sample_rate,
                    program_map=program_map, instrument=args.instrument, device=device,
                    batch_size=args.batch_size, dtype=args.dtype,
                    progress=progress)
    return 0
