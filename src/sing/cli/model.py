"""`sing info` (a model file or a preset) and `sing generate` (notes -> WAV files)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sing.cli.options import add_device_option, add_dtype_option
from sing.cli.validate import BATCH_SIZE, MIDI

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``info`` and ``generate`` on the `sing` parser."""
    p = sub.add_parser(
        "info",
        help="describe a model file or a preset",
        description="Print a model file's kind, config, parameter count, size and vocabulary, "
        "or a preset's config and parameter count.",
    )
    p.add_argument(
        "model", nargs="?", type=Path,
        help="a .safetensors model file (default: the model shipped in the package)",
    )
    p.add_argument("--preset", help="describe a preset instead (paper, medium, small, tiny)")
    p.add_argument("--instruments", action="store_true", help="list every instrument")
    p.set_defaults(func=cmd_info)

    g = sub.add_parser(
        "generate",
        help="synthesize notes to 16-bit WAV files",
        description="Synthesize notes with a SING model file. Give NSynth note names "
        "(guitar_acoustic_009-069-100), or --instrument/--pitch/--velocity, or --list FILE "
        "(one note name per line). Each note is written to OUT/<note name>.wav. "
        "--instrument may be a blend of learned instruments, "
        "'string_acoustic_040:0.7,reed_acoustic_065:0.3' (weights normalised).",
    )
    g.add_argument("notes", nargs="*", help="NSynth note names, e.g. guitar_acoustic_009-069-100")
    g.add_argument(
        "--model", type=Path,
        help="a SING .safetensors model file (default: the model shipped in the package)",
    )
    g.add_argument(
        "--instrument",
        help="instrument name or NSynth id, or a blend 'name:weight,name:weight'",
    )
    g.add_argument("--pitch", type=MIDI, help="MIDI pitch (with --instrument)")
    g.add_argument("--velocity", type=MIDI, default=100, help="velocity (default 100)")
    g.add_argument("--list", type=Path, help="a file of note names, one per line")
    g.add_argument("--out", type=Path, default=Path("generated"), help="output folder")
    g.add_argument("--batch-size", type=BATCH_SIZE, default=64, help="notes per forward pass")
    add_device_option(g)
    add_dtype_option(g)
    g.set_defaults(func=cmd_generate)


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _config_lines(config) -> list[str]:
    from sing.models.frames import decoded_length

    lines = ["config:"]
    for key, value in config.to_dict().items():
        lines.append(f"  {key:<16} {value}")
    lines.append(
        f"  -> {config.num_frames} frames (LSTM steps) per {config.note_length}-sample note, "
        f"decoder output {decoded_length(config.num_frames, config)} samples"
    )
    return lines


def _parameter_lines(config) -> list[str]:
    import torch

    from sing.models import SING, Autoencoder

    with torch.device("meta"):
        sing = SING(config)
        ae = Autoencoder(config)
    n_gen = sum(p.numel() for p in sing.generator.parameters())
    n_dec = sum(p.numel() for p in sing.decoder.parameters())
    n_enc = sum(p.numel() for p in ae.encoder.parameters())
    return [
        f"parameters: SING (generator + decoder) {n_gen + n_dec:,} = {(n_gen + n_dec) / 1e6:.1f} M "
        f"({(n_gen + n_dec) * 4 / 1e6:.0f} MB = {(n_gen + n_dec) * 4 / 2**20:.0f} MiB in float32)",
        f"  sequence generator {n_gen:,}, decoder {n_dec:,}, encoder {n_enc:,} "
        f"(autoencoder {n_enc + n_dec:,})",
    ]


def _shipped_lines(recipe: dict) -> list[str]:
    """What a model made by ``sing experiment gm-model`` says of itself: the command, the
    SoundFont's licence and the held-out metrics (nothing for other model files)."""
    if not isinstance(recipe.get("gm_model"), dict) or not isinstance(recipe.get("heldout"),
                                                                      dict):
        return []
    from sing.evaluation.model_card import summary_line

    lines = [f"made by: {recipe['gm_model'].get('command', '?')}"]
    for run in recipe.get("continued") or []:  # sing experiment gm-continue's chain
        if isinstance(run, dict):
            lines.append(f"then: {run.get('command', '?')} ({float(run.get('cpu_s', 0)):.0f} "
                         "CPU-s)")
    if isinstance(recipe.get("licence"), str):
        lines.append(f"training notes: {recipe['licence']}")
    try:
        lines.append(summary_line({"heldout": recipe["heldout"]}))
    except (KeyError, TypeError, AttributeError, ValueError):
        pass
    return lines


def cmd_info(args: argparse.Namespace) -> int:
    """``sing info MODEL`` / ``sing info --preset NAME``."""
    import json
    from collections import Counter

    from sing.errors import SingError
    from sing.models.config import SingConfig

    if args.model is not None and args.preset is not None:
        raise SingError("give a model file or --preset NAME (one of them)")
    if args.preset is not None:
        config = SingConfig.preset(args.preset)
        lines = [f"preset {args.preset}"] + _config_lines(config) + _parameter_lines(config)
        print("\n".join(lines))
        return 0

    from sing.models.io import read_info
    from sing.pretrained import resolve_model_path

    info = read_info(resolve_model_path(args.model), check_values=True)
    v = info.vocabulary
    lines = [
        f"{info.path}: {info.kind} model (format {info.format_version}), "
        f"{_human_bytes(info.size_bytes)} on disk, {info.num_parameters:,} parameters "
        f"({info.num_parameters / 1e6:.2f} M, {info.dtype})",
    ]
    lines += _config_lines(info.config)
    families = Counter(v.families)
    shown = ", ".join(v.instruments[:5]) + (", ..." if v.num_instruments > 5 else "")
    lines += [
        "vocabulary:",
        f"  instruments      {v.num_instruments} ({shown})",
        "  families         " + ", ".join(f"{f} {n}" for f, n in sorted(families.items())),
        f"  velocities       {', '.join(str(x) for x in v.velocities)}",
        f"  pitches          {v.pitch_min}-{v.pitch_max}",
        f"  sample rate      {v.sample_rate} Hz, note length {v.note_length} samples "
        f"({v.note_length / v.sample_rate:g} s)",
        f"recipe: {json.dumps(info.recipe, sort_keys=True) if info.recipe else '(none)'}",
    ]
    lines[1:1] = _shipped_lines(info.recipe)
    if args.instruments:
        lines.append("instruments (index, NSynth id, name, family):")
        rows = zip(v.instruments, v.instrument_ids, v.families, strict=True)
        for i, (name, iid, fam) in enumerate(rows):
            lines.append(f"  {i:5d} {iid:6d}  {name}  {fam}")
    print("\n".join(lines))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """``sing generate --model FILE NOTE... | --instrument I --pitch P | --list FILE``.

    Every note's file name is checked before any work (not too long, not an input, not an
    existing non-regular file); the output folder's lock is held while writing, temporaries
    a killed generate left for these notes are removed, and SIGTERM cleans up like Ctrl-C.
    """
    from sing.utils.interrupt import interrupt_on_sigterm

    interrupt_on_sigterm()
    import torch

    from sing import api
    from sing.data.wav import write_wav
    from sing.errors import SingError
    from sing.generation import generate
    from sing.utils.atomic import check_folder_path
    from sing.utils.device import resolve_device
    from sing.utils.progress import progress_bar
    from sing.utils.textlist import read_entries, resolve_entries

    if args.batch_size < 1:
        raise SingError(f"--batch-size must be >= 1, not {args.batch_size}")
    check_folder_path(args.out)
    specs: list = list(args.notes)
    listed = read_entries(args.list) if args.list is not None else []  # errors say FILE:LINE
    if args.instrument is not None:
        if args.pitch is None:
            raise SingError("--instrument needs --pitch (and optionally --velocity)")
        specs.append((args.instrument, args.pitch, args.velocity))
    elif args.pitch is not None:
        raise SingError("--pitch needs --instrument")
    if not specs and not listed:
        raise SingError("no notes given: note names, --instrument/--pitch or --list FILE")
    from sing.pretrained import resolve_model_path

    model_path = resolve_model_path(args.model)
    device = resolve_device(args.device)
    dtype = args.dtype
    model = api.load_model(model_path, device=device)
    notes = [api.resolve_note(model.vocabulary, s) for s in specs] + resolve_entries(
        listed, lambda name: api.resolve_note(model.vocabulary, name))
    rate = model.vocabulary.sample_rate
    _check_note_files(args.out, notes, inputs=[model_path, args.list])

    def write(chunk: list, wavs: torch.Tensor) -> None:
        for note, wav in zip(chunk, wavs, strict=True):
            write_wav(args.out / f"{note.name}.wav", wav.numpy(), rate, atomic=True)

    # WAV files (each fsynced) are written by a second thread while the next chunk is
    # generated: the disk's wait no longer adds to the generation time.
    from concurrent.futures import ThreadPoolExecutor

    from sing.utils.atomic import make_folder, stale_temporaries, temporary_target
    from sing.utils.lock import exclusive

    make_folder(args.out)
    with exclusive(args.out), \
            progress_bar(total=len(notes), unit="note", desc="generate", disable=None) as bar, \
            ThreadPoolExecutor(1, thread_name_prefix="sing-write") as writer:
        targets = {f"{note.name}.wav" for note in notes}
        for stale in stale_temporaries(args.out):  # left by a killed generate of these notes
            if temporary_target(stale.name) in targets:
                logger.info(f"removing {stale}, left by an interrupted sing process")
                stale.unlink(missing_ok=True)
        pending = None
        for i in range(0, len(notes), args.batch_size):
            chunk = notes[i : i + args.batch_size]
            wavs = generate(model, chunk, batch_size=args.batch_size, dtype=dtype)
            if pending is not None:
                pending.result()  # the previous chunk is on disk (or its error is raised)
            pending = writer.submit(write, chunk, wavs)
            bar.update(len(chunk))
        pending.result()
    logger.info("wrote %d notes to %s", len(notes), args.out)
    return 0


def _name_max(folder: Path) -> int:
    """The longest file name the file system of ``folder`` (or its nearest existing parent)
    takes, in bytes (255 when it cannot say)."""
    import os

    for part in (folder, *folder.parents):
        if part.is_dir():
            try:
                return int(os.pathconf(part, "PC_NAME_MAX"))
            except (OSError, ValueError):
                return 255
    return 255


def _check_note_files(out: Path, notes: list, inputs: list) -> None:
    """Refuse, before generating, a note whose WAV file name is too long for the file system
    (long blends), is an input of the command, is an existing non-regular file, or is the
    file name of another, different note (blends whose labels round alike)."""
    from sing.errors import SingError
    from sing.utils.outputs import check_output

    limit = _name_max(out) - len(".tmp-") - len(".xxxxxxxx")  # room for atomic_write's name
    seen: dict[str, object] = {}
    for note in notes:
        name = f"{note.name}.wav"
        other = seen.setdefault(name, note)
        if other != note:  # e.g. two blends whose percentages round alike
            raise SingError(f"two different notes would both be written to {name} (their "
                            "names round alike): give them apart in separate runs", out)
        if len(name.encode()) > limit:
            raise SingError(f"the file name of note {note.name[:60]}... would be "
                            f"{len(name.encode())} bytes, over the {limit} this file system "
                            "allows: blend fewer instruments", out)
        if out.is_dir():
            check_output(out / name, inputs=inputs, what="note")
