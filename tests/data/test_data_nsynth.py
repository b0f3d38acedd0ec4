"""The Dataset: items, vocabulary, splits, and the memory-mapped cache equal to the WAVs."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import torch
from torch.utils.data import DataLoader

from sing.data.cache import CACHE_DIR, build_cache
from sing.data.nsynth import NSynthDataset
from sing.data.vocabulary import NSYNTH_FAMILIES
from sing.errors import SingError


def test_items_and_vocabulary(gm_dataset: Path):
    ds = NSynthDataset(gm_dataset)
    assert len(ds) == 120 and not ds.cached and ds.names == sorted(ds.examples)
    v = ds.vocabulary
    assert v.instruments == ("keyboard_acoustic_000", "string_acoustic_040", "flute_acoustic_073")
    assert (v.pitch_min, v.pitch_max, v.sample_rate, v.note_length) == (57, 64, 16000, 64000)
    i = ds.names.index("string_acoustic_040-062-075")
    item = ds[i]
    assert item["name"] == "string_acoustic_040-062-075"
    assert (item["instrument"], item["pitch"], item["velocity"]) == (1, 62, 2)
    assert item["family"] == NSYNTH_FAMILIES.index("string")
    assert item["wav"].dtype == torch.float32 and item["wav"].shape == (64000,)
    _, ref = scipy.io.wavfile.read(gm_dataset / "audio" / "string_acoustic_040-062-075.wav")
    np.testing.assert_array_equal(item["wav"].numpy(), ref.astype(np.float64) / 32768)
    assert float(item["wav"].abs().max()) <= 1.0


def test_splits_share_the_vocabulary(gm_dataset: Path):
    parts = {s: NSynthDataset(gm_dataset, s) for s in ("train", "valid", "test")}
    assert [len(p) for p in parts.values()] == [90, 15, 15]
    assert all(p.vocabulary == parts["train"].vocabulary for p in parts.values())
    assert not set(parts["train"].names) & set(parts["test"].names)
    with pytest.raises(SingError, match="unknown split 'dev'"):
        NSynthDataset(gm_dataset, "dev")


def test_cache_equals_wavs_and_detects_staleness(gm_dataset: Path, tmp_path: Path):
    root = tmp_path / "ds"
    shutil.copytree(gm_dataset, root)
    wav_ds = NSynthDataset(root, "test")
    build_cache(root, progress=False)
    cached = NSynthDataset(root, "test")
    assert cached.cached and cached.vocabulary == wav_ds.vocabulary
    for i in range(len(wav_ds)):
        assert torch.equal(cached[i]["wav"], wav_ds[i]["wav"])
    batch = cached.__getitems__([4, 0, 9, 4])
    assert [b["name"] for b in batch] == [wav_ds.names[i] for i in (4, 0, 9, 4)]
    assert all(torch.equal(b["wav"], wav_ds[i]["wav"]) for b, i in zip(batch, (4, 0, 9, 4),
                                                                        strict=True))
    # a DataLoader batch (default collate, batched fetch), also through a pickled copy
    loader = DataLoader(pickle.loads(pickle.dumps(cached)), batch_size=8, shuffle=False)
    first = next(iter(loader))
    assert first["wav"].shape == (8, 64000) and first["name"] == wav_ds.names[:8]
    assert torch.equal(first["wav"][3], wav_ds[3]["wav"])
    # touching a WAV (new mtime) makes the cache stale: the Dataset falls back to the WAVs
    one = root / "audio" / f"{wav_ds.names[0]}.wav"
    st = one.stat()
    os.utime(one, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not NSynthDataset(root, "test").cached
    build_cache(root, progress=False)
    assert NSynthDataset(root).cached
    assert not NSynthDataset(root, use_cache=False).cached
    # a damaged array (here: cut short) is not used either, and `check` reports it
    npy = root / CACHE_DIR / "audio.npy"
    npy.write_bytes(npy.read_bytes()[: npy.stat().st_size // 2])
    assert not NSynthDataset(root).cached
    from sing.data.check import check_dataset

    assert check_dataset(root, progress=False).problems == [
        f"{root / CACHE_DIR}: stale or damaged; rebuild it with `sing dataset cache {root}`"
    ]
    assert sorted(p.name for p in (root / CACHE_DIR).iterdir()) == ["audio.npy", "index.json"]


def test_collate_notes_matches_default_collate(gm_dataset: Path, tmp_path: Path):
    from torch.utils.data import default_collate

    from sing.data.nsynth import collate_notes

    root = tmp_path / "ds"
    shutil.copytree(gm_dataset, root)
    build_cache(root, progress=False)
    ds = NSynthDataset(root, "train")
    items = ds.__getitems__([5, 2, 80])
    ours, ref = collate_notes(items), default_collate(items)
    assert ours["wav"].data_ptr() == items[0]["wav"].data_ptr()  # the gathered batch, no copy
    assert torch.equal(ours["wav"], ref["wav"]) and ours["name"] == ref["name"]
    for key in ("instrument", "pitch", "velocity", "family"):
        assert ours[key].dtype == torch.int64 and torch.equal(ours[key], ref[key])
    single = [ds[5], ds[2]]  # separate items (WAV path or __getitem__): stacked
    assert torch.equal(collate_notes(single)["wav"], default_collate(single)["wav"])
    loader = DataLoader(ds, batch_size=16, shuffle=True, collate_fn=collate_notes,
                        generator=torch.Generator().manual_seed(0))
    seen = [n for batch in loader for n in batch["name"]]
    assert sorted(seen) == ds.names


NSYNTH_EXAMPLES = {  # two notes in the exact form of NSynth's examples.json
    "guitar_acoustic_009-069-100": {
        "note": 201034, "sample_rate": 16000, "pitch": 69, "instrument_source": 0,
        "instrument_family_str": "guitar", "instrument_str": "guitar_acoustic_009",
        "note_str": "guitar_acoustic_009-069-100", "qualities_str": ["bright"],
        "instrument_source_str": "acoustic", "velocity": 100, "instrument_family": 3,
        "instrument": 126, "qualities": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    },
    "bass_synthetic_033-030-025": {
        "note": 153, "sample_rate": 16000, "pitch": 30, "instrument_source": 2,
        "instrument_family_str": "bass", "instrument_str": "bass_synthetic_033",
        "note_str": "bass_synthetic_033-030-025", "qualities_str": ["dark"],
        "instrument_source_str": "synthetic", "velocity": 25, "instrument_family": 0,
        "instrument": 2, "qualities": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0],
    },
}


def test_reads_an_nsynth_folder_unchanged(tmp_path: Path):
    # NSynth-form metadata (ids, families, qualities), audio from an independent writer
    (tmp_path / "audio").mkdir()
    (tmp_path / "examples.json").write_text(json.dumps(NSYNTH_EXAMPLES))
    rng = np.random.default_rng(1)
    audio = {}
    for name in NSYNTH_EXAMPLES:
        audio[name] = rng.integers(-2000, 2000, 64000).astype(np.int16)
        scipy.io.wavfile.write(tmp_path / "audio" / f"{name}.wav", 16000, audio[name])
    ds = NSynthDataset(tmp_path)
    assert ds.vocabulary.instruments == ("bass_synthetic_033", "guitar_acoustic_009")
    assert ds.vocabulary.instrument_ids == (2, 126)
    item = ds[ds.names.index("guitar_acoustic_009-069-100")]
    assert (item["instrument"], item["pitch"], item["velocity"], item["family"]) == (1, 69, 1, 3)
    np.testing.assert_array_equal(item["wav"].numpy(),
                                  audio[item["name"]].astype(np.float64) / 32768)
    assert ds.vocabulary.encode_note("bass_synthetic_033-030-025") == (0, 30, 0)
