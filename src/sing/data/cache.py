"""The fast-loading cache: every note of a folder in one memory-mapped int16 array.

``sing dataset cache DIR`` writes ``DIR/sing-cache/`` (built in a temporary folder and renamed,
so never half-written):

- ``audio.npy``: ``int16[N, T]``, row ``i`` = note ``index.json["names"][i]``;
- ``index.json``: names, sample rate, note length and a fingerprint of the folder.

The fingerprint hashes ``examples.json`` and the size and modification time of every
``audio/<note>.wav``; :class:`~sing.data.nsynth.NSynthDataset` uses the cache only while the
fingerprint still matches (a changed, added or removed file makes it stale).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sing.errors import SingError
from sing.utils.atomic import atomic_directory
from sing.utils.diskspace import require_space, reserve

logger = logging.getLogger(__name__)

CACHE_DIR = "sing-cache"
_FORMAT_VERSION = 1


def fingerprint(root: Path, names: list[str]) -> str:
    """SHA-256 over ``examples.json`` and (name, size, mtime_ns) of every note's WAV."""
    h = hashlib.sha256()
    h.update((root / "examples.json").read_bytes())
    audio = root / "audio"
    for name in sorted(names):
        try:
            st = os.stat(audio / f"{name}.wav")
            h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except FileNotFoundError:
            h.update(f"{name}\0missing\n".encode())
    return h.hexdigest()


@dataclass
class CacheIndex:
    """What ``index.json`` records about a cache."""

    names: list[str]
    sample_rate: int
    note_length: int
    fingerprint: str


def read_index(root: Path) -> CacheIndex | None:
    """The cache index of ``root``, or None if there is no (readable) cache."""
    path = root / CACHE_DIR / "index.json"
    try:
        d = json.loads(path.read_text())
        if d.get("format_version") != _FORMAT_VERSION:
            return None
        return CacheIndex(
            names=list(d["names"]), sample_rate=int(d["sample_rate"]),
            note_length=int(d["note_length"]), fingerprint=str(d["fingerprint"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def fresh_cache(root: Path, names: list[str]) -> CacheIndex | None:
    """The cache index if a cache exists and matches the folder now, else None (logged)."""
    index = read_index(root)
    if index is None:
        return None
    if sorted(index.names) != sorted(names) or index.fingerprint != fingerprint(root, names):
        logger.warning(
            f"{root / CACHE_DIR}: stale (the data changed since it was built); reading WAVs. "
            f"Rebuild it with `sing dataset cache {root}`"
        )
        return None
    try:
        audio = open_audio(root)
    except (OSError, ValueError):
        audio = None
    if audio is None or audio.dtype != np.int16 or audio.shape != (
        len(index.names), index.note_length
    ):
        logger.warning(
            f"{root / CACHE_DIR / 'audio.npy'}: missing or damaged; reading WAVs. "
            f"Rebuild it with `sing dataset cache {root}`"
        )
        return None
    return index


def open_audio(root: Path) -> np.ndarray:
    """The cache's ``int16[N, T]`` array, memory-mapped read-only."""
    return np.load(root / CACHE_DIR / "audio.npy", mmap_mode="r")


def build_cache(root: str | Path, progress: bool = True) -> Path:
    """Read every WAV of the folder ``root`` (checked) into ``root/sing-cache/``.

    Returns the cache folder. Raises :class:`SingError` on the first bad file.
    """
    from sing.data.schema import load_examples
    from sing.data.wav import read_wav
    from sing.utils.progress import progress_bar

    root = Path(root)
    examples, _ = load_examples(root / "examples.json")
    names = sorted(examples)
    sample_rate = int(next(iter(examples.values()))["sample_rate"])
    first = read_wav(root / "audio" / f"{names[0]}.wav", sample_rate)
    length = len(first)
    stamp = fingerprint(root, names)
    out = root / CACHE_DIR
    # a full disk under a memory map is SIGBUS, not an error: check, then reserve the blocks
    require_space(root, len(names) * length * 2, f"the cache ({len(names)} notes)")
    with atomic_directory(out) as tmp:
        audio = np.lib.format.open_memmap(
            tmp / "audio.npy", mode="w+", dtype=np.int16, shape=(len(names), length)
        )
        reserve(tmp / "audio.npy", (tmp / "audio.npy").stat().st_size, out / "audio.npy")
        for i, name in enumerate(progress_bar(names, unit="note", desc="caching",
                                                disable=not progress)):
            audio[i] = read_wav(root / "audio" / f"{name}.wav", sample_rate, length)
        audio.flush()
        del audio
        if fingerprint(root, names) != stamp:
            raise SingError("files changed while the cache was being built; run it again", root)
        index = {
            "format_version": _FORMAT_VERSION, "sample_rate": sample_rate,
            "note_length": length, "fingerprint": stamp, "names": names,
        }
        (tmp / "index.json").write_text(json.dumps(index) + "\n")
    size = len(names) * length * 2 / 1e6
    logger.debug(f"wrote {out}: {len(names)} notes x {length} samples ({size:.0f} MB)")
    return out
