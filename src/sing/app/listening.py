"""The blind listening test of ``sing app``: trials on held-out notes, answers in a CSV.

:class:`HeldOutNotes` holds a data set's held-out split (its ``split.json``, the test split by
default), as :mod:`sing.evaluation.evaluator` does: for every note, the recording (ground
truth), SING's note generated from its symbols (:func:`sing.generation.generate`) and the
resample reference (the nearest-pitch training note of the same instrument and velocity,
:mod:`sing.evaluation.resample`). All three are cut or zero-padded to the data's note length.

:func:`make_trials` gives each listener their own seeded random order of trials:

* one ``abx`` trial per note: A and B are the recording and SING in a random order, X is one
  of them at random; the listener says whether X is A or B;
* ``preference`` trials, one per pair of SING, resample and ground truth (a pair with the
  resample reference only where the note has a training source), the two in a random order.

:class:`AnswerLog` appends each answer to the CSV as soon as it is given (one line, flushed and
fsynced, the header on a new file), under a thread lock and an ``fcntl`` lock on the file, so
concurrent listeners never interleave lines and a closed browser loses nothing. The CSV's
columns are :data:`sing.evaluation.listening.COLUMNS`; ``sing listening-report`` reads it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import logging
import os
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sing.errors import SingError, describe_os_error
from sing.evaluation.listening import COLUMNS, read_answers

logger = logging.getLogger(__name__)

#: The systems a listener hears.
SING, RESAMPLE, GROUND_TRUTH = "sing", "resample", "ground_truth"


@dataclass(frozen=True)
class Trial:
    """One question of the test.

    Attributes:
        id: stable id (``abx:NOTE`` or ``preference:NOTE:SYS1+SYS2``), unique per listener.
        kind: ``"abx"`` or ``"preference"``. note: the NSynth note name.
        a, b: the systems played as A and B. x: for ABX, the system played as X (else "").
    """

    id: str
    kind: str
    note: str
    instrument: str
    family: str
    pitch: int
    velocity: int
    a: str
    b: str
    x: str = ""

    def system_of(self, answer: str) -> str:
        """The system the answer ``"A"`` or ``"B"`` names."""
        if answer == "A":
            return self.a
        if answer == "B":
            return self.b
        raise SingError(f"an answer is A or B, not {answer!r}")


class HeldOutNotes:
    """The held-out notes of a data set and the audio of each system, generated on demand.

    Args:
        model: a SING model that knows the data set's instruments and velocities.
        root: the data folder (``examples.json``, ``audio/``, ``split.json``).
        split: the held-out split (``"test"`` or ``"valid"``).
        limit: use a seeded random subset of at most this many notes.
    """

    def __init__(self, model: Any, root: str | Path, split: str = "test",
                 limit: int | None = None, cache_notes: int = 64) -> None:
        from sing.data.nsynth import NSynthDataset
        from sing.evaluation.evaluator import build_resample_reference, select_notes, symbol_maps

        self.root = Path(root)
        self.model = model
        self.dataset = NSynthDataset(self.root, split=split)
        if len(self.dataset) == 0:
            raise SingError(f"the {split} split has no notes", self.root / "split.json")
        symbol_maps(model, self.dataset.vocabulary, self.root)  # the model knows the data
        self.train = NSynthDataset(self.root, split="train")
        self.reference = build_resample_reference(self.train) if len(self.train) else None
        self.indices = select_notes(len(self.dataset), limit)
        self.vocabulary = self.dataset.vocabulary
        self._cache: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self._cache_notes = cache_notes
        self._lock = threading.Lock()
        self._index = {self.dataset.names[i]: i for i in self.indices}

    @property
    def notes(self) -> list[str]:
        """The held-out note names used."""
        return [self.dataset.names[i] for i in self.indices]

    def describe(self, name: str) -> dict[str, Any]:
        """Instrument, family, pitch and velocity of a held-out note."""
        meta = self.dataset.examples[name]
        return {"instrument": str(meta["instrument_str"]),
                "family": str(meta["instrument_family_str"]), "pitch": int(meta["pitch"]),
                "velocity": int(meta["velocity"])}

    def has_resample(self, name: str) -> bool:
        """Whether the training split has a source note for the resample reference."""
        if self.reference is None:
            return False
        instrument, pitch, velocity = self.vocabulary.encode_note(name)
        return self.reference.source(instrument, pitch, velocity) is not None

    @property
    def sample_rate(self) -> int:
        """The data's sample rate."""
        return self.vocabulary.sample_rate

    def audio(self, name: str, system: str) -> np.ndarray:
        """float32 ndarray[T] of ``system`` for the held-out note ``name`` (T: the data's
        note length). SING's note is generated once per note and kept in a small cache."""
        if name not in self._index:
            raise SingError(f"'{name}' is not one of the held-out notes")
        with self._lock:
            entry = self._cache.get(name)
            if entry is None:
                entry = self._make(name)
                self._cache[name] = entry
                while len(self._cache) > self._cache_notes:
                    self._cache.popitem(last=False)
            self._cache.move_to_end(name)
        if system not in entry:
            raise SingError(f"no '{system}' audio for {name}")
        return entry[system]

    def _make(self, name: str) -> dict[str, np.ndarray]:
        from sing.evaluation.resample import pitch_shift_by_resampling
        from sing.generation import generate, resolve_note

        item = self.dataset[self._index[name]]
        truth = item["wav"].numpy().astype(np.float32)
        length = len(truth)
        meta = self.describe(name)
        note = resolve_note(self.model.vocabulary,
                            (meta["instrument"], meta["pitch"], meta["velocity"]))
        sing = generate(self.model, [note], batch_size=1)[0].numpy()
        out = {GROUND_TRUTH: truth, SING: _fit(sing, length)}
        if self.reference is not None:
            source = self.reference.source(item["instrument"], item["pitch"], item["velocity"])
            if source is not None:
                wav = self.train[source.index]["wav"].numpy()
                out[RESAMPLE] = _fit(pitch_shift_by_resampling(wav, item["pitch"] - source.pitch),
                                     length)
        return out


def _fit(wav: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    n = min(length, len(wav))
    out[:n] = wav[:n]
    return out


def listener_seed(seed: int, listener: str) -> list[int]:
    """The seed of a listener's trial order: the test's seed and a hash of the id."""
    return [int(seed), zlib.crc32(listener.encode("utf-8"))]


def make_trials(held: HeldOutNotes, listener: str, seed: int = 0,
                kinds: tuple[str, ...] = ("abx", "preference")) -> list[Trial]:
    """The listener's trials in their seeded random order (same listener and seed: same
    trials, so a listener who comes back resumes where they were)."""
    rng = np.random.default_rng(listener_seed(seed, listener))
    trials: list[Trial] = []
    for name in held.notes:
        meta = held.describe(name)
        if "abx" in kinds:
            a, b = rng.permutation([SING, GROUND_TRUTH]).tolist()
            x = a if rng.random() < 0.5 else b
            trials.append(Trial(f"abx:{name}", "abx", name, a=a, b=b, x=x, **meta))
        if "preference" in kinds:
            pairs = [(SING, GROUND_TRUTH)]
            if held.has_resample(name):
                pairs += [(SING, RESAMPLE), (RESAMPLE, GROUND_TRUTH)]
            for pair in pairs:
                a, b = rng.permutation(list(pair)).tolist()
                trials.append(Trial(f"preference:{name}:{pair[0]}+{pair[1]}", "preference",
                                    name, a=a, b=b, **meta))
    order = rng.permutation(len(trials))
    return [trials[i] for i in order]


class AnswerLog:
    """The answers CSV: appended to, one line per answer, as soon as it is given."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        parent = self.path.parent
        if self.path.is_dir():
            raise SingError("is a folder; give a .csv file name", self.path)
        if not parent.is_dir():
            raise SingError("cannot write: its folder does not exist", self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            read_answers(self.path)  # refuse a file that is not ours before anyone answers

    def answered(self, listener: str) -> set[str]:
        """The trial ids ``listener`` has answered already."""
        if not self.path.exists():
            return set()
        with self._lock:
            return {a.trial for a in read_answers(self.path) if a.listener == listener}

    def append(self, listener: str, trial: Trial, answer: str) -> dict[str, str]:
        """Write one answer (``"A"`` or ``"B"``) of ``listener`` to ``trial``; returns the row.

        The line is written with one ``write`` on a file opened for appending, under an
        exclusive ``fcntl`` lock, then flushed and fsynced; the header is written when the
        file is empty.
        """
        listener = clean_listener(listener)
        chosen = trial.system_of(answer)
        row = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "listener": listener,
            "trial": trial.id, "kind": trial.kind, "note": trial.note,
            "instrument": trial.instrument, "family": trial.family, "pitch": str(trial.pitch),
            "velocity": str(trial.velocity), "a": trial.a, "b": trial.b, "x": trial.x,
            "answer": answer, "chosen": chosen,
            "correct": "" if trial.kind != "abx" else str(int(chosen == trial.x)),
        }
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow([row[c] for c in COLUMNS])
        with self._lock:
            try:
                with open(self.path, "a", encoding="utf-8", newline="") as f:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
                    try:
                        text = line.getvalue()
                        if os.fstat(f.fileno()).st_size == 0:
                            text = ",".join(COLUMNS) + "\n" + text
                        f.write(text)
                        f.flush()
                        os.fsync(f.fileno())
                    finally:
                        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            except OSError as err:
                raise SingError(describe_os_error(err).split(": ", 1)[-1], self.path) from None
        return row


def clean_listener(listener: str | None) -> str:
    """The listener id, stripped; an empty or over-long one raises :class:`SingError`."""
    text = " ".join(str(listener or "").split())
    if not text:
        raise SingError("enter a listener id (any name or code) first")
    if len(text) > 100:
        raise SingError("the listener id is longer than 100 characters")
    return text


class ListeningTest:
    """A listening test: held-out notes, each listener's trials and the answers CSV."""

    def __init__(self, held: HeldOutNotes, answers: AnswerLog, seed: int = 0,
                 kinds: tuple[str, ...] = ("abx", "preference")) -> None:
        self.held = held
        self.answers = answers
        self.seed = seed
        self.kinds = kinds

    def remaining(self, listener: str) -> tuple[list[Trial], int]:
        """The trials ``listener`` has not answered yet, in their order, and the total."""
        listener = clean_listener(listener)
        trials = make_trials(self.held, listener, self.seed, self.kinds)
        done = self.answers.answered(listener)
        return [t for t in trials if t.id not in done], len(trials)

    def sounds(self, trial: Trial) -> dict[str, np.ndarray]:
        """The audio of A, B (and X for ABX)."""
        out = {"A": self.held.audio(trial.note, trial.a), "B": self.held.audio(trial.note, trial.b)}
        if trial.kind == "abx":
            out["X"] = self.held.audio(trial.note, trial.x)
        return out

    def answer(self, listener: str, trial: Trial, answer: str) -> dict[str, str]:
        """Append the answer to the CSV at once (:meth:`AnswerLog.append`)."""
        return self.answers.append(listener, trial, answer)
