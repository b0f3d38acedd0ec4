"""Write a folder of recorded notes to try `sing dataset build --from-samples` on.

The samples of a SoundFont are recordings; this plays one instrument of one (``--soundfont``;
default the system GM SoundFont, FluidR3) with FluidSynth (reverb off, a fresh synth per note)
and writes each note as a WAV file named like a sample library's (``cello_C#3_mf.wav``: note
name with middle C = C4, dynamics mark), 44.1 kHz stereo, with 0.2 s of near-silence before
each note as a recording has. The README's recipe uses it on TimGM6mb's cello (one
instrument, 3 octaves x 3 dynamics): recordings the shipped General MIDI model (trained on
FluidR3) never heard:

    python benchmarks/sample_folder.py --out my-samples/my_cello --program 42 --pitches 48-83 \
        --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from sing.data.sample_names import midi_to_note
from sing.data.soundfont import FluidRenderer, find_soundfont, parse_int_ranges

DYNAMICS = {"pp": 30, "p": 50, "mp": 64, "mf": 80, "f": 96, "ff": 120}


def main() -> None:
    """Parse the options and write the folder."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="folder to write (an instrument)")
    p.add_argument("--program", type=int, default=42, help="GM program (default 42, cello)")
    p.add_argument("--pitches", default="48-83", help="MIDI pitches (default 48-83)")
    p.add_argument("--dynamics", default="pp,mf,ff", help="marks (default pp,mf,ff)")
    p.add_argument("--seconds", type=float, default=1.5, help="note length (default 1.5)")
    p.add_argument("--rate", type=int, default=44100, help="sample rate (default 44100)")
    p.add_argument("--soundfont", type=Path, default=None,
                   help="SF2 file to play (default: $SING_SOUNDFONT, else the system GM one)")
    args = p.parse_args()
    pitches = parse_int_ranges(args.pitches, 0, 127, "pitch")
    marks = [m.strip() for m in args.dynamics.split(",")]
    stem = args.out.name.split("_")[-1]
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = round(args.seconds * args.rate)
    with FluidRenderer(find_soundfont(args.soundfont), args.rate) as renderer:
        for pitch in pitches:
            for mark in marks:
                wav = renderer.render(args.program, pitch, DYNAMICS[mark], n, round(0.75 * n))
                lead = rng.normal(0, 1e-5, round(0.2 * args.rate)).astype(np.float32)
                wav = np.concatenate([lead, wav])
                stereo = np.stack([wav, 0.8 * wav], axis=1)
                sf.write(args.out / f"{stem}_{midi_to_note(pitch)}_{mark}.wav", stereo, args.rate)
    print(f"{args.out}: {len(pitches) * len(marks)} notes from {renderer.soundfont.name}")


if __name__ == "__main__":
    main()
