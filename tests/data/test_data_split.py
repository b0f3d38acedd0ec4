"""Split invariants: no pair in two sets, every instrument in train, proportions, refusal."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from sing.data.split import compute_split, load_split, make_split
from sing.data.vocabulary import note_name, parse_note_name
from sing.errors import SingError


def _pairs(names: list[str]) -> set[tuple[str, int]]:
    return {parse_note_name(n)[:2] for n in names}


def _check_invariants(names: list[str], splits: dict[str, list[str]]) -> None:
    assert sorted(sum(splits.values(), [])) == sorted(names)  # every note exactly once
    pairs = {k: _pairs(v) for k, v in splits.items()}
    assert not pairs["train"] & pairs["valid"]
    assert not pairs["train"] & pairs["test"]
    assert not pairs["valid"] & pairs["test"]
    instruments = {parse_note_name(n)[0] for n in names}
    assert {i for i, _ in pairs["train"]} == instruments


def test_fixture_split(gm_dataset: Path):
    names = list(json.loads((gm_dataset / "examples.json").read_text()))
    splits = load_split(gm_dataset)
    _check_invariants(names, splits)
    # every instrument: 1 of its 8 pitches in valid, 1 in test, all 5 velocities each
    for split in ("valid", "test"):
        by_inst = defaultdict(set)
        for n in splits[split]:
            inst, pitch, _ = parse_note_name(n)
            by_inst[inst].add(pitch)
        assert len(by_inst) == 3 and all(len(p) == 1 for p in by_inst.values())
        assert len(splits[split]) == 15
    assert len(splits["train"]) == 90


def test_proportions_and_determinism():
    names = [note_name(f"bass_synthetic_{i:03d}", p, v)
             for i in range(20) for p in range(30, 90) for v in (25, 127)]
    splits = compute_split(names, valid=0.1, test=0.2, seed=42)
    _check_invariants(names, splits)
    assert len(splits["valid"]) == 20 * 6 * 2 and len(splits["test"]) == 20 * 12 * 2
    assert compute_split(names, valid=0.1, test=0.2, seed=42) == splits
    assert compute_split(names, valid=0.1, test=0.2, seed=7) != splits
    # an instrument's split does not depend on the other instruments in the folder
    alone = compute_split([n for n in names if n.startswith("bass_synthetic_003")], 0.1, 0.2, 42)
    assert alone["test"] == [n for n in splits["test"] if n.startswith("bass_synthetic_003")]


def test_tiny_instrument_stays_in_train():
    names = [note_name("organ_electronic_001", p, 100) for p in (60, 61)]
    assert compute_split(names)["train"] == sorted(names)
    with pytest.raises(SingError, match="bad split fractions"):
        compute_split(names, valid=0.6, test=0.5)


def test_refuses_to_overwrite_a_different_split(gm_dataset: Path, tmp_path: Path):
    root = tmp_path / "ds"
    shutil.copytree(gm_dataset, root)
    before = (root / "split.json").read_bytes()
    assert make_split(root) == load_split(root)  # same split: accepted, untouched
    with pytest.raises(SingError, match="a different split already exists"):
        make_split(root, seed=1)
    assert (root / "split.json").read_bytes() == before
    changed = make_split(root, seed=1, force=True)
    assert load_split(root) == changed != json.loads(before)["splits"]


def test_load_split_errors(tmp_path: Path):
    with pytest.raises(SingError, match="no split file; run `sing dataset split"):
        load_split(tmp_path)
    (tmp_path / "split.json").write_text("{oops")
    with pytest.raises(SingError, match=r"split.json: malformed JSON"):
        load_split(tmp_path)
    (tmp_path / "split.json").write_text('{"splits": {"train": []}}')
    with pytest.raises(SingError, match="not a split file"):
        load_split(tmp_path)
