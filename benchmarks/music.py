"""Music benchmark: real pieces played by a SING model, by its teacher SoundFont and by a peer.

Every piece of ``sing.midi.pieces.music.PIECES`` (public-domain scores of music21's corpus,
checked in as MIDI files) is rendered at 16 kHz mono by three systems, each as a user runs it,
in a fresh process, timed from start to exit:

- ``sing``: ``python -m sing render PIECE.mid --out X.wav --sample-rate 16000`` with the
  shipped model (``--model`` picks another);
- ``fluidr3``: ``fluidsynth -ni -R 0 -C 0 -F X.wav -r 16000 FluidR3_GM.sf2 PIECE.mid``, the
  SoundFont the shipped model learned from (its data were rendered without reverb and
  chorus, so both are off here too);
- ``peer``: the same with a second GM SoundFont a user could pick instead (default
  Debian's TimGM6mb, 6 MB).

For each piece and system it prints (``sing.evaluation.music``, ``sing.dsp.modulation``):
chroma agreement with the score, onset F1 of a simple transcriber (librosa onsets,
backtracked, 50 ms) and that relative to the teacher's (the mean row: the ratio of the mean
F1s), log-mel distance to the teacher's rendition, the frame-rate
buzz at the model's frame rate (sample rate / stride) over the score's steady stretches, the
noise floor (share of energy where the teacher's rendition is 60 dB below its loudest bin),
and whole-process speed (x real time = piece seconds / wall seconds); then the mean over the
pieces. In a mix, partials of different notes beat against each other, so the piece's buzz
reads higher than a note's for every system; the two *note* columns measure the same two
artefacts as ``sing evaluate`` does on held-out notes, on up to 24 distinct notes of the
piece (program, pitch, the model's nearest velocity), each played alone for the model's note
length and hold: the model's note (``sing.api``) and FluidSynth's (``FluidRenderer``, the way
the training data were made); the note noise floor is against the teacher's note.
``--out`` keeps the WAVs and writes ``music.json`` and ``music.md``.

    .venv/bin/python benchmarks/music.py                       # all pieces, shipped model
    .venv/bin/python benchmarks/music.py --quick --out /tmp/m  # one short piece (CI)
    .venv/bin/python benchmarks/music.py --pieces haydn-op74no1 --model runs/gm/model.safetensors
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from machine import machine_load

SAMPLE_RATE = 16000
TEACHER = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
PEER = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
#: The piece and length of ``--quick``.
QUICK_PIECE = "bach-bwv66.6-winds"
QUICK_SECONDS = 10.0
SYSTEMS = ("fluidr3", "peer", "sing")
COLUMNS = (("chroma", "chroma agreement", "{:.3f}"), ("onset_f1", "onset F1", "{:.3f}"),
           ("onset_f1_vs_teacher", "onset F1 / teacher's", "{:.0%}"),
           ("log_mel", "log-mel dist. to teacher", "{:.2f}"),
           ("buzz_db", "buzz (dB)", "{:.1f}"), ("noise_floor", "noise floor", "{:.3%}"),
           ("note_buzz_db", "note buzz (dB)", "{:.1f}"),
           ("note_noise_floor", "note noise floor", "{:.3%}"),
           ("speed", "x real time", "{:.0f}"))
#: Distinct notes of a piece played alone for the note columns (at most).
NOTE_COUNT = 24


def cut_midi(source: Path, target: Path, seconds: float) -> Path:
    """The first ``seconds`` of ``source`` as a MIDI file (notes in seconds at 60 bpm; notes
    past the cut end there)."""
    from sing.midi.reader import read_midi
    from sing.midi.writer import Part, write_midi

    parts: dict[tuple[int, int, int], Part] = {}
    for note in read_midi(source).notes:
        if note.start >= seconds:
            continue
        key = (note.track, note.channel, note.program)
        part = parts.setdefault(key, Part(f"track {note.track}", note.channel, note.program))
        part.notes.append((note.start, min(note.end, seconds) - note.start, note.pitch,
                           note.velocity))
    return write_midi(target, list(parts.values()), 60.0)


def timed(argv: list[str]) -> float:
    """Wall seconds of ``argv`` in a fresh process (its output discarded; a failure raises)."""
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"music: {argv[0]} failed ({result.returncode}): "
                         f"{result.stderr.strip()[-500:]}")
    return wall


def read_mono(path: Path) -> np.ndarray:
    """A WAV file as float64 mono at :data:`SAMPLE_RATE` (channels averaged)."""
    import soundfile as sf

    audio, rate = sf.read(path, dtype="float64", always_2d=True)
    if rate != SAMPLE_RATE:
        raise SystemExit(f"music: {path}: {rate} Hz, not {SAMPLE_RATE}")
    return audio.mean(axis=1)


def render(system: str, midi: Path, wav: Path, model: Path, soundfonts: dict[str, Path]) -> float:
    """Render ``midi`` to ``wav`` with ``system``; the wall seconds."""
    if system == "sing":
        return timed([sys.executable, "-m", "sing", "-q", "render", str(midi), "--out", str(wav),
                      "--model", str(model), "--sample-rate", str(SAMPLE_RATE)])
    fluidsynth = shutil.which("fluidsynth")
    if fluidsynth is None:
        raise SystemExit("music: the fluidsynth program is missing (Debian package fluidsynth)")
    return timed([fluidsynth, "-ni", "-q", "-R", "0", "-C", "0", "-O", "float", "-F", str(wav),
                  "-r", str(SAMPLE_RATE), str(soundfonts[system]), str(midi)])


def piece_keys(score, vocabulary, count: int = NOTE_COUNT) -> list[tuple[int, int, int]]:
    """Up to ``count`` distinct (program, pitch, velocity) notes of ``score``, evenly spread
    over their sorted list; the velocity is the model's nearest one, the pitch moved by
    octaves into its range."""
    keys = set()
    for note in score.notes:
        pitch = note.pitch
        while pitch < vocabulary.pitch_min:
            pitch += 12
        while pitch > vocabulary.pitch_max:
            pitch -= 12
        velocity = min(vocabulary.velocities, key=lambda v: abs(v - note.velocity))
        keys.add((note.program, pitch, velocity))
    ordered = sorted(keys)
    if len(ordered) <= count:
        return ordered
    return [ordered[round(i * (len(ordered) - 1) / (count - 1))] for i in range(count)]


def note_measures(keys: list[tuple[int, int, int]], model_path: Path,
                  soundfonts: dict[str, Path]) -> dict[str, dict[str, float]]:
    """The buzz and noise floor of ``keys`` played alone by each system (module docstring)."""
    import torch

    from sing.api import load_model, synthesize_batch
    from sing.data.soundfont import FluidRenderer
    from sing.dsp.modulation import frame_rate_buzz_db, noise_floor_share
    from sing.evaluation.pitch import held_span
    from sing.midi.programs import program_instruments
    from sing.midi.render import model_hold

    model = load_model(model_path)
    vocabulary = model.vocabulary
    rate, length = vocabulary.sample_rate, vocabulary.note_length
    hold = model_hold(model)
    frame_rate = rate / model.config.stride
    instruments = program_instruments(vocabulary, {k[0] for k in keys})
    specs = [({vocabulary.instruments[i]: w for i, w in instruments[program]}, pitch, velocity)
             for program, pitch, velocity in keys]
    with torch.no_grad():
        notes = {"sing": synthesize_batch(model, specs).double().numpy()}
    for system, sf2 in soundfonts.items():
        with FluidRenderer(sf2, rate) as renderer:
            notes[system] = np.stack([renderer.render(p, k, v, length, hold)
                                      for p, k, v in keys]).astype(np.float64)
    start, end = held_span(length, rate)
    out = {}
    for system, wavs in notes.items():
        buzz = [frame_rate_buzz_db(w, rate, frame_rate, start, end, pitches=[k[1]])
                for w, k in zip(wavs, keys, strict=True)]
        floor = [noise_floor_share(w, ref) for w, ref in zip(wavs, notes["fluidr3"], strict=True)]
        finite = [b for b in buzz if math.isfinite(b)]
        out[system] = {"note_buzz_db": float(np.mean(finite)) if finite else float("nan"),
                       "note_noise_floor": float(np.nanmean(floor))}
    return out


def measure_piece(name: str, midi: Path, folder: Path, model: Path, frame_rate: float,
                  soundfonts: dict[str, Path]) -> dict[str, dict[str, float]]:
    """Render ``midi`` with every system into ``folder`` and measure each: system -> metrics."""
    from sing.dsp.modulation import noise_floor_share
    from sing.evaluation import music
    from sing.midi.reader import read_midi
    from sing.models.io import read_info

    score = read_midi(midi)
    notes = note_measures(piece_keys(score, read_info(model).vocabulary), model, soundfonts)
    audio, walls = {}, {}
    for system in SYSTEMS:
        wav = folder / f"{name}.{system}.wav"
        walls[system] = render(system, midi, wav, model, soundfonts)
        audio[system] = read_mono(wav)
    teacher = audio["fluidr3"]
    rows: dict[str, dict[str, float]] = {}
    for system in SYSTEMS:
        x = audio[system]
        rows[system] = {
            "chroma": music.chroma_agreement(x, SAMPLE_RATE, score.notes),
            "onset_f1": music.onset_f1(x, SAMPLE_RATE, score.notes),
            "log_mel": music.log_mel_distance(x, teacher, SAMPLE_RATE),
            "buzz_db": music.piece_buzz_db(x, SAMPLE_RATE, score.notes, frame_rate),
            "noise_floor": noise_floor_share(x, teacher),
            "speed": score.length / walls[system],
            "wall_s": walls[system],
            **notes[system],
        }
    for system in SYSTEMS:
        base = rows["fluidr3"]["onset_f1"]
        rows[system]["onset_f1_vs_teacher"] = (rows[system]["onset_f1"] / base if base > 0
                                               else float("nan"))
    rows["_piece"] = {"seconds": score.length, "notes": len(score.notes)}
    return rows


def mean_rows(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The mean of each metric of each system over the pieces (nan values skipped); the onset
    F1 relative to the teacher's is the ratio of the mean F1s."""
    out: dict[str, dict[str, float]] = {}
    for system in SYSTEMS:
        out[system] = {}
        for key, _label, _fmt in COLUMNS:
            values = [r[system][key] for r in results.values() if math.isfinite(r[system][key])]
            out[system][key] = float(np.mean(values)) if values else float("nan")
    base = out["fluidr3"]["onset_f1"]
    for system in SYSTEMS:  # the ratio of the means: a piece the teacher fails does not blow up
        out[system]["onset_f1_vs_teacher"] = (out[system]["onset_f1"] / base if base > 0
                                              else float("nan"))
    return out


def fmt(value: float, spec: str) -> str:
    return spec.format(value) if math.isfinite(value) else "-"


def table(rows: dict[str, dict[str, float]], labels: dict[str, str]) -> str:
    """A Markdown table, one row per system."""
    head = "| system | " + " | ".join(label for _k, label, _f in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for system in SYSTEMS:
        cells = " | ".join(fmt(rows[system][k], f) for k, _label, f in COLUMNS)
        lines.append(f"| {labels[system]} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pieces", default=None, help="comma-separated piece names (default all)")
    p.add_argument("--model", type=Path, default=None, help="SING model (default: the shipped)")
    p.add_argument("--out", type=Path, default=None, help="folder for the WAVs and music.json")
    p.add_argument("--quick", action="store_true",
                   help=f"one short piece ({QUICK_PIECE}, first {QUICK_SECONDS:.0f} s)")
    p.add_argument("--seconds", type=float, default=None, help="cut every piece to N seconds")
    p.add_argument("--teacher", type=Path, default=TEACHER, help="the teacher SoundFont")
    p.add_argument("--peer", type=Path, default=PEER, help="the peer GM SoundFont")
    args = p.parse_args(argv)

    import torch

    from sing.midi.pieces.music import PIECES, piece
    from sing.models.io import read_info
    from sing.pretrained import resolve_model_path

    model = resolve_model_path(args.model)
    info = read_info(model)
    frame_rate = info.vocabulary.sample_rate / info.config.stride
    for sf2 in (args.teacher, args.peer):
        if not sf2.is_file():
            raise SystemExit(f"music: {sf2}: no such SoundFont (scripts/setup.sh installs it)")
    soundfonts = {"fluidr3": args.teacher, "peer": args.peer}
    labels = {"fluidr3": f"FluidSynth + {args.teacher.stem} (teacher, "
                         f"{args.teacher.stat().st_size / 2**20:.0f} MB)",
              "peer": f"FluidSynth + {args.peer.stem} ({args.peer.stat().st_size / 2**20:.0f} MB)",
              "sing": f"sing render, {model.name} ({model.stat().st_size / 2**20:.1f} MB)"}
    if args.quick:
        specs, seconds = [piece(QUICK_PIECE)], args.seconds or QUICK_SECONDS
    else:
        names = args.pieces.split(",") if args.pieces else [s.name for s in PIECES]
        specs, seconds = [piece(n.strip()) for n in names], args.seconds

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# music benchmark, {platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"{now}")
    print(f"# model: {model} (frame rate {frame_rate:g} Hz); machine at start: {machine_load()}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="sing-bench-music-") as tmp:
        folder = args.out if args.out is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for spec in specs:
            midi = spec.path
            if seconds is not None:
                midi = cut_midi(midi, folder / f"{spec.name}.cut.mid", seconds)
            rows = measure_piece(spec.name, midi, folder, model, frame_rate, soundfonts)
            results[spec.name] = rows
            print(f"\n## {spec.title} ({spec.kind}; {rows['_piece']['seconds']:.1f} s, "
                  f"{rows['_piece']['notes']} notes)\n")
            print(table(rows, labels), flush=True)
        means = mean_rows(results)
        summary = f"\n## Mean over {len(results)} piece(s)\n\n{table(means, labels)}"
        print(summary)
        print(f"\n# machine at end: {machine_load()}")
        if args.out is not None:
            from sing.evaluation.tables import to_jsonable
            from sing.utils.atomic import atomic_write_text

            record = {"date": now, "model": str(model), "frame_rate": frame_rate,
                      "labels": labels, "pieces": results, "mean": means}
            atomic_write_text(folder / "music.json",
                              json.dumps(to_jsonable(record), indent=2) + "\n")
            md = "\n\n".join(f"## {n}\n\n{table(r, labels)}" for n, r in results.items())
            atomic_write_text(folder / "music.md", md + "\n" + summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
