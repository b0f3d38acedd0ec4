"""Shared fixtures for every test directory.

``gm_dataset``: a small real data set rendered once per session from the FluidR3 GM SoundFont:
3 instruments of different families (piano = keyboard, violin = string, flute = flute),
8 pitches around C4 (57-64), all 5 NSynth velocities, 4 s notes at 16 kHz: 120 notes, with
``split.json`` made (every instrument has pitches in train and one pitch, all velocities, in
each of valid and test: 90 / 15 / 15 notes). Read-only: copy it before changing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

GM_PROGRAMS = (0, 40, 73)
GM_PITCHES = tuple(range(57, 65))


@pytest.fixture(scope="session")
def gm_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a small FluidR3 jsonwav folder (examples.json, audio/, split.json)."""
    from sing.data.soundfont import build_dataset
    from sing.data.split import make_split

    root = tmp_path_factory.mktemp("gm") / "gm_dataset"
    build_dataset(root, programs=GM_PROGRAMS, pitches=GM_PITCHES, progress=False)
    make_split(root)
    return root
