"""Fixtures of the export tests: the shipped model, small banks exported once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The canon's GM programs: piano, violin, flute, vibraphone, nylon guitar.
CANON_PROGRAMS = "0,40,73,11,24"


@pytest.fixture(autouse=True)
def _one_thread(one_intra_op_thread: None) -> None:
    """Every test of this directory runs with one intra-op thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def model():
    """The shipped GM model (128 programs, pitches 24-96, 5 velocities, 1 s notes)."""
    import sing.api

    return sing.api.load_model(None)


@pytest.fixture(scope="session")
def small_plan(model):
    """Piano and violin, pitches 57-65 in zones of at most 3 keys, all 5 velocities."""
    from sing.export.bank import plan_bank

    return plan_bank(model, instruments="0,40", pitches="57-65", every=3)


@pytest.fixture(scope="session")
def small_banks(model, small_plan, tmp_path_factory) -> dict[str, Path]:
    """The small plan as sf2, sf3 and sfz (generated once: the same samples in each)."""
    from sing.export.bank import generate_bank
    from sing.export.sf2 import write_soundfont
    from sing.export.sfz import write_sfz

    folder = tmp_path_factory.mktemp("banks")
    presets = list(generate_bank(model, small_plan))
    return {
        "sf2": write_soundfont(folder / "small.sf2", small_plan, presets),
        "sf3": write_soundfont(folder / "small.sf3", small_plan, presets, vorbis=True),
        "sfz": write_sfz(folder / "small.sfz", small_plan, presets),
        "presets": presets,
    }


@pytest.fixture(scope="session")
def canon_bank(model, tmp_path_factory) -> Path:
    """The canon's five programs at the default --every, through the public API."""
    import sing.api

    out = tmp_path_factory.mktemp("canon") / "canon.sf2"
    return sing.api.export_soundfont(model, out, instruments=CANON_PROGRAMS)
