"""Size and time of `sing export`: the shipped model's whole bank (128 programs, MIDI 24-96,
5 velocities) as a SoundFont, in a fresh process (imports, model load and generation included).

Times ``sing export --out bank.<format> [--every N]`` in a child process
and prints wall time, the child's CPU time, the file's size and its number of samples. The size
at ``--every 1`` is computed from the measured bytes per sample unless ``--every 1`` is run.

    .venv/bin/python benchmarks/export.py                      # default --every, sf2
    .venv/bin/python benchmarks/export.py --format sf3
    .venv/bin/python benchmarks/export.py --every 1 --keep /tmp/full.sf2
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine_load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", choices=("sf2", "sf3"), default="sf2")
    parser.add_argument("--every", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="write the bank here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / f"bank.{args.format}"
        command = [sys.executable, "-m", "sing", "-q", "export", "--out", str(out)]
        if args.every is not None:
            command += ["--every", str(args.every)]
        print(f"{' '.join(command[2:])}  ({machine_load()}, {os.cpu_count()} CPUs)")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        size = out.stat().st_size
        from sing.export.bank import DEFAULT_EVERY, key_zones

        every = args.every or DEFAULT_EVERY
        samples = 128 * len(key_zones(24, 96, every)) * 5
        per_sample = size / samples
        print(f"--every {every}: {samples} samples, {size / 1e6:.1f} MB "
              f"({per_sample / 1e3:.1f} kB a sample), wall {wall:.0f} s, CPU {cpu:.0f} s "
              f"({machine_load()})")
        if every != 1:
            full = 128 * 73 * 5
            print(f"--every 1 (computed): {full} samples, {full * per_sample / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
