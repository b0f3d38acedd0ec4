"""`sing export --out bank.sf2`: a SING model as a SoundFont (sf2, sf3) or an SFZ folder."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.options import add_dtype_option
from sing.cli.validate import BATCH_SIZE, integer, real

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``export`` on the `sing` parser."""
    e = sub.add_parser(
        "export",
        help="export a model's instruments (or a blend) as a SoundFont or an SFZ instrument",
        description="Generate every note of a sample-based instrument once and write it as a "
        "SoundFont 2 (.sf2), an SF3 (.sf3, Ogg Vorbis samples: far smaller) or an SFZ folder "
        "(.sfz texts and WAVs), to play live in FluidSynth, a DAW's sampler or hardware. One "
        "preset per instrument (a General MIDI model: bank 0, program = the GM program, so "
        "'fluidsynth bank.sf2 song.mid' plays any GM file); each sample serves up to --every "
        "keys and one model velocity, and loops seamlessly while the key is held (the loop "
        "that 'sing render' uses), then plays the note's own release.",
    )
    e.add_argument("--out", type=Path, required=True,
                   help="the file to write (.sf2, .sf3) or the SFZ folder (.sfz)")
    e.add_argument("--model", type=Path,
                   help="a SING .safetensors model file (default: the model shipped in the "
                   "package)")
    e.add_argument("--instruments", metavar="LIST|all",
                   help="comma-separated instrument names or ids, or 'all' (default: all, "
                   "unless only --instrument is given)")
    e.add_argument("--instrument", metavar="BLEND",
                   help="one more preset: an instrument or a blend 'a:0.7,b:0.3'")
    e.add_argument("--name", help="the name of the --instrument preset (default: its label)")
    e.add_argument("--pitches", metavar="LO-HI",
                   help="the MIDI pitches to generate (default: the model's range)")
    e.add_argument("--every", type=integer(1, 128), default=None, metavar="N",
                   help="a sample serves at most N keys (default: 12, one per octave; 1: every "
                   "key its own sample)")
    e.add_argument("--velocities", metavar="LIST|all",
                   help="the model velocities to make layers of (default: all of them)")
    e.add_argument("--format", choices=("sf2", "sf3", "sfz"), default=None,
                   help="default: from the --out suffix, else sf2")
    e.add_argument("--quality", type=real(0.0, 1.0), default=0.6,
                   help="Ogg Vorbis quality of sf3 samples, 0-1 (default 0.6)")
    e.add_argument("--batch-size", type=BATCH_SIZE, default=64, help="notes per forward pass")
    e.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    add_dtype_option(e)
    e.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """``sing export --out bank.sf2 [--model M] [--instruments ...] ...``."""
    import os

    from sing import api
    from sing.errors import SingError
    from sing.export.bank import DEFAULT_EVERY, plan_bank
    from sing.export.files import check_output, export_bank, output_format
    from sing.pretrained import resolve_model_path
    from sing.utils.device import resolve_device
    from sing.utils.progress import progress_bar

    if args.name is not None and args.instrument is None:
        raise SingError("--name names the --instrument preset: give --instrument too")
    fmt = output_format(args.out, args.format)
    check_output(args.out, fmt)
    model_path = resolve_model_path(args.model)
    device = resolve_device(args.device)
    model = api.load_model(model_path, device=device)
    plan = plan_bank(model, instruments=args.instruments, blend=args.instrument,
                     blend_name=args.name, pitches=args.pitches,
                     every=DEFAULT_EVERY if args.every is None else args.every,
                     velocities=args.velocities)
    with progress_bar(total=plan.num_samples, unit="note", desc="export", disable=None) as bar:
        export_bank(model, args.out, fmt=fmt, plan=plan, batch_size=args.batch_size,
                    dtype=args.dtype, quality=args.quality,
                    progress=bar.update)
    size = sum(f.stat().st_size for f in args.out.rglob("*")) if args.out.is_dir() else \
        os.path.getsize(args.out)
    logger.info("wrote %s: %d presets, %d samples, %.1f MB", args.out, len(plan.presets),
                plan.num_samples, size / 1e6)
    return 0
