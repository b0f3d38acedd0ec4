"""How well the two pitch meters read real notes: YIN and CREPE on FluidR3 notes of known pitch.

Renders notes of FluidR3_GM alone (``sing.data.soundfont.FluidRenderer``, the way the training
data are made: 1 s, key held 0.75 s, velocity 100, 16 kHz) for every ``--step``-th GM program
and the pitches ``--pitches`` (default every octave from C1 to C7), and prints the share each
estimator of ``sing.evaluation.pitch`` reads within 50 cents (and ignoring octaves), overall
and per GM family, with the seconds per note. This is the ceiling of any model's "pitch
accuracy" on such notes (the ground truth row of ``sing evaluate``).

    .venv/bin/python benchmarks/pitch_meters.py                # 32 programs x 7 pitches
    .venv/bin/python benchmarks/pitch_meters.py --step 1       # all 128 programs
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

from machine import machine_load


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--soundfont", type=Path, default=Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"))
    p.add_argument("--step", type=int, default=4, help="every N-th GM program (default 4)")
    p.add_argument("--pitches", default="24,36,48,60,72,84,96")
    p.add_argument("--crepe-model", choices=("tiny", "full"), default=None,
                   help="CREPE's network (default: sing.evaluation.pitch.CREPE_MODEL)")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from sing.data.gm import GM_PROGRAMS
    from sing.data.soundfont import FluidRenderer
    from sing.evaluation.pitch import ESTIMATORS, measure_pitch

    pitches = [int(x) for x in args.pitches.split(",")]
    rate, length, hold = 16000, 16000, 12000
    hits: dict[str, dict[str, list[tuple[bool, bool]]]] = {e: defaultdict(list) for e in ESTIMATORS}
    seconds = dict.fromkeys(ESTIMATORS, 0.0)
    notes = 0
    from sing.evaluation.pitch import CREPE_MODEL

    print(f"# pitch meters on {args.soundfont.name}, CREPE {args.crepe_model or CREPE_MODEL}, "
          f"{torch.get_num_threads()} torch threads; {machine_load()}")
    with FluidRenderer(args.soundfont, rate) as renderer:
        for program in range(0, 128, args.step):
            family = GM_PROGRAMS[program].family
            for pitch in pitches:
                wav = renderer.render(program, pitch, 100, length, hold)
                if not np.any(wav):
                    continue
                notes += 1
                for estimator in ESTIMATORS:
                    start = time.perf_counter()
                    result = measure_pitch(wav, rate, pitch, estimator,
                                           crepe_model=args.crepe_model)
                    seconds[estimator] += time.perf_counter() - start
                    hits[estimator][family].append((result.correct,
                                                    result.correct_ignoring_octave))
    print(f"{notes} sounding notes: programs 0-127 step {args.step}, pitches {pitches}\n")
    families = sorted(hits["yin"])
    head = "| family | notes | " + " | ".join(
        f"{e.upper()} 50 cents | {e.upper()} any octave" for e in ESTIMATORS) + " |"
    print(head)
    print("|" + "---|" * (2 + 2 * len(ESTIMATORS)))
    for family in [*families, "all"]:
        cells = []
        for estimator in ESTIMATORS:
            rows = (hits[estimator][family] if family != "all"
                    else [r for f in families for r in hits[estimator][f]])
            cells += [f"{100 * np.mean([r[0] for r in rows]):.0f}%",
                      f"{100 * np.mean([r[1] for r in rows]):.0f}%"]
        count = len(hits["yin"][family]) if family != "all" else notes
        print(f"| {family} | {count} | " + " | ".join(cells) + " |")
    print("\nseconds per note: " + ", ".join(f"{e.upper()} {seconds[e] / max(notes, 1):.3f}"
                                             for e in ESTIMATORS))
    print(f"# machine at end: {machine_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
