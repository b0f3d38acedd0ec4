"""Notes per second through a torch DataLoader: WAV files vs the memory-mapped cache.

    python benchmarks/data_loading.py                 # builds the demo set in a temp folder
    python benchmarks/data_loading.py --root DIR      # an existing jsonwav folder

Prints one line per path (notes/s, MB/s of float32 audio delivered). Target: >= 5,000 notes/s
from the cache on 2 cores (SING trains at about 1,000 notes/s on one GPU).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from sing.data.cache import CACHE_DIR, build_cache
from sing.data.nsynth import NSynthDataset, collate_notes
from sing.data.soundfont import DEMO_PITCHES, DEMO_PROGRAMS, build_dataset


def notes_per_second(
    ds: NSynthDataset, batch_size: int, workers: int, min_notes: int, collate: bool = True
) -> float:
    """Iterate shuffled batches until ``min_notes`` notes are delivered; returns notes/s.

    ``collate``: use :func:`sing.data.nsynth.collate_notes`, else torch's default_collate.
    """
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers,
                        drop_last=True, persistent_workers=workers > 0,
                        collate_fn=collate_notes if collate else None)
    next(iter(loader))  # warm-up: page cache, worker start
    seen = 0
    start = time.perf_counter()
    while seen < min_notes:
        for batch in loader:
            seen += batch["wav"].shape[0]
            if seen >= min_notes:
                break
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="existing jsonwav folder")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--notes", type=int, default=4000, help="notes to load per measurement")
    args = parser.parse_args()
    tmp = None
    root = args.root
    if root is None:
        tmp = Path(tempfile.mkdtemp(prefix="sing-bench-"))
        root = tmp / "demo"
        t0 = time.perf_counter()
        summary = build_dataset(root, programs=DEMO_PROGRAMS, pitches=DEMO_PITCHES,
                                progress=False)
        dt = time.perf_counter() - t0
        print(f"build: {summary['notes']} notes in {dt:.1f} s = {summary['notes'] / dt:.0f} "
              "notes/s (render + write, FluidR3, 1 process)")
    try:
        print(f"machine: {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads; batch {args.batch_size}")
        shutil.rmtree(root / CACHE_DIR, ignore_errors=True)
        wav_ds = NSynthDataset(root)
        note_mb = wav_ds.vocabulary.note_length * 4 / 1e6
        for w in args.workers:
            rate = notes_per_second(wav_ds, args.batch_size, w, args.notes // 4)
            print(f"WAV files, collate_notes  , {w} workers: {rate:8.0f} notes/s "
                  f"({rate * note_mb:.0f} MB/s)")
        t0 = time.perf_counter()
        build_cache(root, progress=False)
        print(f"cache build: {len(wav_ds) / (time.perf_counter() - t0):.0f} notes/s")
        cached = NSynthDataset(root)
        assert cached.cached
        for w in args.workers:
            for collate in (True, False):
                rate = notes_per_second(cached, args.batch_size, w, args.notes, collate)
                how = "collate_notes  " if collate else "default_collate"
                print(f"cache, {how}, {w} workers: {rate:8.0f} notes/s "
                      f"({rate * note_mb:.0f} MB/s)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
