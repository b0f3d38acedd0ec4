"""A map-style torch Dataset over an NSynth "jsonwav" folder.

The folder holds ``examples.json`` (note name -> metadata, NSynth's schema) and
``audio/<note>.wav`` (mono 16-bit PCM). This reads NSynth's own ``nsynth-train`` /
``nsynth-valid`` / ``nsynth-test`` folders unchanged, and the folders that
``sing dataset build`` writes.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from sing.data import cache as cache_mod
from sing.data.schema import load_examples
from sing.data.split import SPLIT_NAMES, load_checked_split
from sing.data.vocabulary import NSYNTH_FAMILIES, Vocabulary
from sing.data.wav import read_wav
from sing.errors import SingError

logger = logging.getLogger(__name__)


def _to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 PCM -> float32 in [-1, 1) (NumPy: single-threaded, unaffected by a busy CPU)."""
    out = pcm.astype(np.float32)
    out *= np.float32(1 / 32768)
    return out


class NSynthDataset(Dataset):
    """Notes of a jsonwav folder, optionally one split of it.

    ``ds[i]`` is a dict: ``wav`` float32 Tensor[T] in [-1, 1], ``instrument`` (int,
    vocabulary index), ``pitch`` (int, MIDI), ``velocity`` (int, index into
    ``vocabulary.velocities``), ``family`` (int, index into NSYNTH_FAMILIES), ``name`` (str).
    ``ds.__getitems__(indices)`` fetches a whole batch at once (a DataLoader uses it).

    Attributes:
        vocabulary: built from the whole folder's ``examples.json`` (every split shares it),
            ``note_length`` taken from the audio.
        names: the note names of this split, sorted.
        examples: the whole folder's metadata (note name -> dict).
        cached: whether notes come from the memory-mapped cache (``sing dataset cache``).

    Args:
        root: the folder.
        split: None (every note) or 'train' / 'valid' / 'test' (reads ``root/split.json``).
        use_cache: read ``root/sing-cache`` when present and fresh.
    """

    def __init__(self, root: str | Path, split: str | None = None, use_cache: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise SingError("no such folder" if not self.root.exists() else "not a folder",
                            self.root)
        self.examples, _ = load_examples(self.root / "examples.json")
        all_names = sorted(self.examples)
        if split is None:
            names = all_names
        elif split in SPLIT_NAMES:
            names = sorted(load_checked_split(self.root, self.examples)[split])
        else:
            raise SingError(f"unknown split '{split}' (expected one of {', '.join(SPLIT_NAMES)})")
        self.names: list[str] = names
        vocab = Vocabulary.from_examples(self.examples)
        self._index = cache_mod.fresh_cache(self.root, all_names) if use_cache else None
        self.cached = self._index is not None
        if self._index is not None:
            length = self._index.note_length
            row = {n: i for i, n in enumerate(self._index.names)}
            self._rows = np.array([row[n] for n in names], dtype=np.int64)
        else:
            first = read_wav(self._wav_path(all_names[0]), vocab.sample_rate)
            length = len(first)
            self._rows = None
        self.vocabulary: Vocabulary = dataclasses.replace(vocab, note_length=length)
        self._audio: np.ndarray | None = None
        meta = [self.examples[n] for n in names]
        inst_index = {name: i for i, name in enumerate(self.vocabulary.instruments)}
        vel_index = {v: i for i, v in enumerate(self.vocabulary.velocities)}
        self._instrument = [inst_index[m["instrument_str"]] for m in meta]
        self._pitch = [int(m["pitch"]) for m in meta]
        self._velocity = [vel_index[int(m["velocity"])] for m in meta]
        self._family = [NSYNTH_FAMILIES.index(m["instrument_family_str"]) for m in meta]
        source = "memory-mapped cache" if self.cached else "WAV files"
        logger.debug(f"{self.root}: {len(names)} notes ({split or 'all'}) from {source}")

    def _wav_path(self, name: str) -> Path:
        return self.root / "audio" / f"{name}.wav"

    def __len__(self) -> int:
        return len(self.names)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_audio"] = None  # each DataLoader worker maps the cache itself
        return state

    def _cache_audio(self) -> np.ndarray:
        if self._audio is None:
            self._audio = cache_mod.open_audio(self.root)
        return self._audio

    def _item(self, i: int, wav: torch.Tensor) -> dict[str, Any]:
        return {
            "wav": wav,
            "instrument": self._instrument[i],
            "pitch": self._pitch[i],
            "velocity": self._velocity[i],
            "family": self._family[i],
            "name": self.names[i],
        }

    def load_wav(self, i: int) -> torch.Tensor:
        """The waveform of note ``i``: float32 Tensor[T] in [-1, 1]."""
        if self._rows is not None:
            pcm = np.asarray(self._cache_audio()[self._rows[i]])
        else:
            pcm = read_wav(self._wav_path(self.names[i]), self.vocabulary.sample_rate,
                           self.vocabulary.note_length)
        return torch.from_numpy(_to_float(pcm))

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i = i % len(self)
        return self._item(i, self.load_wav(i))

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        """A batch of items, read from the cache in one gather when there is one."""
        if self._rows is None:
            return [self[i] for i in indices]
        idx = np.asarray(indices, dtype=np.int64) % len(self)
        rows = self._rows[idx]
        order = np.argsort(rows, kind="stable")
        pcm = np.empty((len(rows), self.vocabulary.note_length), dtype=np.int16)
        pcm[order] = self._cache_audio()[rows[order]]
        wavs = torch.from_numpy(_to_float(pcm))
        return [self._item(int(i), wavs[k]) for k, i in enumerate(idx)]


class NoteSubset:
    """A fixed subset of a dataset (an :class:`NSynthDataset` or another subset): the same
    items, with ``names``, ``vocabulary`` and ``root`` of those notes; ``__getitems__``
    gathers a batch in one call when the dataset can."""

    def __init__(self, dataset: Any, indices: list[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        self.names = [dataset.names[i] for i in self.indices]
        self.vocabulary = dataset.vocabulary
        self.root = getattr(dataset, "root", None)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.dataset[self.indices[i]]

    def __getitems__(self, indices: list[int]) -> list[dict[str, Any]]:
        inner = [self.indices[i] for i in indices]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]


def collate_notes(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """Collate dataset items into a batch: ``wav`` Tensor[B, T], ``instrument``, ``pitch``,
    ``velocity``, ``family`` int64 Tensor[B], ``name`` list[str] (what ``default_collate``
    gives). When the items come from one cached ``__getitems__`` gather, ``wav`` is that
    gathered tensor itself (no copy); otherwise the rows are copied with NumPy
    (``torch.stack``'s multi-threaded copy can be 50x slower on a busy machine)."""
    wavs = [item["wav"] for item in batch]
    base = wavs[0]._base
    if (
        base is not None and base.dim() == 2 and base.shape[0] == len(wavs)
        and all(w._base is base and w.data_ptr() == base[k].data_ptr()
                for k, w in enumerate(wavs))
    ):
        wav = base
    else:  # NumPy copy: single-threaded, so not slowed down by a busy CPU
        wav = torch.from_numpy(np.stack([w.numpy() for w in wavs]))
    out: dict[str, Any] = {"wav": wav}
    for key in ("instrument", "pitch", "velocity", "family"):
        out[key] = torch.tensor([item[key] for item in batch], dtype=torch.int64)
    out["name"] = [item["name"] for item in batch]
    return out
