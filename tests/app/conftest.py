"""Fixtures of the app tests: the shipped GM model (loaded once) and a tiny data set whose
held-out notes the listening test plays."""

from __future__ import annotations

from pathlib import Path

import pytest

#: 2 GM programs (piano, violin) x 4 pitches x 1 velocity, 1 s notes: the split's test set
#: holds one pitch of each instrument.
LISTEN_PROGRAMS = (0, 40)
LISTEN_PITCHES = (60, 62, 64, 65)


def build_listen_data(root: Path) -> Path:
    """Render the tiny listening data set (FluidR3) with its split; returns ``root``."""
    from sing.data.soundfont import build_dataset
    from sing.data.split import make_split

    build_dataset(root, programs=LISTEN_PROGRAMS, pitches=LISTEN_PITCHES, velocities=(100,),
                  duration=1.0, hold=0.75, progress=False)
    make_split(root)
    return root


@pytest.fixture(scope="session")
def listen_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny listening data set (read-only)."""
    return build_listen_data(tmp_path_factory.mktemp("listen") / "data")


@pytest.fixture(scope="session")
def gm_model():
    """The shipped GM model, loaded once."""
    import sing.api

    return sing.api.load_model(None)


@pytest.fixture(scope="session")
def app_session(gm_model):
    """An :class:`AppSession` on the shipped model."""
    from sing.app.session import AppSession

    return AppSession(gm_model)
