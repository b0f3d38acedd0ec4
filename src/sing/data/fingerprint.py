"""Which data a model was trained on: a fingerprint of a split's train notes and note length.

``sing train`` records :func:`training_data` in every model file it writes (and in its
checkpoints); ``sing evaluate`` / ``sing report`` compare it with the data they are given, so
that a model is not scored on the notes it trained on, nor on notes of another length, without
the user saying so (:mod:`sing.evaluation.provenance`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def train_fingerprint(train_names: Iterable[str], note_length: int) -> str:
    """SHA-256 (hex) of the sorted train note names and the note length in samples."""
    h = hashlib.sha256(f"sing-train-notes\0{int(note_length)}\n".encode())
    for name in sorted(train_names):
        h.update(name.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def training_data(root: str | Path, train_names: Iterable[str], note_length: int) -> dict[str, Any]:
    """What a model file records about its training data: the fingerprint, the number of train
    notes, the note length and the folder (informative only: folders move)."""
    names = sorted(train_names)
    return {
        "fingerprint": train_fingerprint(names, note_length),
        "train_notes": len(names),
        "note_length": int(note_length),
        "data": str(root),
    }
