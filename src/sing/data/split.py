"""The completion split: every (instrument, pitch) pair goes to train, valid or test.

As in SING's evaluation, the model sees every instrument in training, but some of each
instrument's pitches (all their velocities) are held out. For each instrument, its pitches are
shuffled with a generator seeded by ``(seed, crc32(instrument name))`` and about ``valid`` and
``test`` of them (rounded, at least one each when the instrument has 3 or more pitches) go to
valid and test; the rest (always at least one) to train. Seeding per instrument makes an
instrument's split independent of which other instruments are in the folder.

The split is stored as ``<root>/split.json``: ``{"format_version", "seed", "valid", "test",
"splits": {"train": [note names], "valid": [...], "test": [...]}}``.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from sing.data.vocabulary import parse_note_name
from sing.errors import SingError, describe_os_error
from sing.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

SPLIT_FILE = "split.json"
SPLIT_NAMES: tuple[str, ...] = ("train", "valid", "test")


def split_pitches(
    instrument: str, pitches: list[int], valid: float, test: float, seed: int
) -> dict[int, str]:
    """Assign each pitch of one instrument to 'train', 'valid' or 'test'."""
    pitches = sorted(pitches)
    n = len(pitches)
    rng = np.random.default_rng([seed, zlib.crc32(instrument.encode("utf-8"))])
    order = [pitches[i] for i in rng.permutation(n)]
    n_test = n_valid = 0
    if n >= 3:
        n_test = max(1, round(test * n)) if test > 0 else 0
        n_valid = max(1, round(valid * n)) if valid > 0 else 0
        while n_test + n_valid > n - 1:  # keep at least one training pitch
            if n_valid >= n_test and n_valid > 0:
                n_valid -= 1
            else:
                n_test -= 1
    assigned = {p: "test" for p in order[:n_test]}
    assigned.update({p: "valid" for p in order[n_test:n_test + n_valid]})
    assigned.update({p: "train" for p in order[n_test + n_valid:]})
    return assigned


def compute_split(
    names: list[str], valid: float = 0.1, test: float = 0.1, seed: int = 42
) -> dict[str, list[str]]:
    """Split note names by (instrument, pitch) pairs; returns split name -> sorted names."""
    if not (0 <= valid < 1 and 0 <= test < 1 and valid + test < 1):
        raise SingError(f"bad split fractions valid={valid}, test={test} (each in [0, 1), sum < 1)")
    pitches: dict[str, set[int]] = defaultdict(set)
    parsed = {}
    for name in names:
        inst, pitch, _ = parse_note_name(name)
        pitches[inst].add(pitch)
        parsed[name] = (inst, pitch)
    where = {
        inst: split_pitches(inst, sorted(ps), valid, test, seed) for inst, ps in pitches.items()
    }
    out: dict[str, list[str]] = {s: [] for s in SPLIT_NAMES}
    for name in sorted(names):
        inst, pitch = parsed[name]
        out[where[inst][pitch]].append(name)
    return out


def _read_names(root: Path) -> list[str]:
    from sing.data.schema import load_examples

    examples, _ = load_examples(root / "examples.json")
    return list(examples)


def make_split(
    root: str | Path, valid: float = 0.1, test: float = 0.1, seed: int = 42, force: bool = False
) -> dict[str, list[str]]:
    """Compute the split of the folder ``root`` and write ``root/split.json`` (atomically).

    If a split file exists and differs, raises :class:`SingError` unless ``force``; an
    identical one is left as is. Returns split name -> note names.
    """
    root = Path(root)
    splits = compute_split(_read_names(root), valid, test, seed)
    path = root / SPLIT_FILE
    if path.exists():
        try:
            old = load_split(root)
        except SingError:
            old = None
        if old == splits:
            logger.info(f"{path} already holds this split")
            return splits
        if not force:
            raise SingError(
                "a different split already exists; pass --force (force=True) to overwrite it",
                path,
            )
    payload: dict[str, Any] = {
        "format_version": 1, "seed": seed, "valid": valid, "test": test, "splits": splits,
    }
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n")
    counts = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    logger.debug(f"wrote {path}: {counts} notes")
    return splits


def load_split(root: str | Path) -> dict[str, list[str]]:
    """Read ``root/split.json``: split name ('train', 'valid', 'test') -> note names."""
    path = Path(root) / SPLIT_FILE
    from sing.utils.inputs import read_input

    if not path.exists() and not path.is_symlink():
        raise SingError(f"no split file; run `sing dataset split {Path(root)}` first", path)
    try:
        data = json.loads(read_input(path, "split file").decode("utf-8"))
    except FileNotFoundError:
        raise SingError(
            f"no split file; run `sing dataset split {Path(root)}` first", path
        ) from None
    except json.JSONDecodeError as err:
        raise SingError(f"malformed JSON ({err})", path) from None
    except (OSError, UnicodeDecodeError) as err:
        msg = describe_os_error(err, path) if isinstance(err, OSError) else f"{path}: not UTF-8"
        raise SingError(msg) from None
    splits = data.get("splits") if isinstance(data, dict) else None
    if not isinstance(splits, dict) or set(splits) != set(SPLIT_NAMES) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in splits.values()
    ):
        raise SingError("not a split file (expected 'splits' with train, valid, test lists)", path)
    return {s: list(splits[s]) for s in SPLIT_NAMES}


def split_problems(splits: dict[str, list[str]], known: Collection[str],
                   path: str | Path) -> list[str]:
    """Every problem of ``splits`` (from ``path``) against ``known``, the folder's note names:
    a note that is not in the folder, a note in two sets, an (instrument, pitch) pair in two
    sets (held-out pitches leak into training). One line each, naming ``path``; notes in no
    set are not a problem here."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    pairs: dict[tuple[str, ...], str] = {}
    for split, names in splits.items():
        for n in names:
            if n not in known:
                problems.append(f"{path}: '{n}' ({split}) is not in examples.json")
                continue
            if n in seen:
                problems.append(f"{path}: '{n}' is in both {seen[n]} and {split}")
            seen[n] = split
            pair = tuple(n.rsplit("-", 1)[0].rsplit("-", 1))
            other = pairs.setdefault(pair, split)
            if other != split:
                problems.append(f"{path}: pitch {pair[-1]} of {pair[0]} is in both "
                                f"{other} and {split}")
    return problems


def load_checked_split(root: str | Path, known: Collection[str]) -> dict[str, list[str]]:
    """:func:`load_split`, refused with one line when :func:`split_problems` finds any: a split
    that leaks notes between train, valid and test must not be trained or evaluated on."""
    splits = load_split(root)
    path = Path(root) / SPLIT_FILE
    problems = split_problems(splits, known, path)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise SingError(
            f"{problems[0].split(': ', 1)[1]}{more}: a split must not leak notes between "
            f"train, valid and test; see `sing dataset check {Path(root)}`, or remake it with "
            "`sing dataset split --force`", path,
        )
    return splits
