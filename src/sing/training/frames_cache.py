"""Stage 2's training targets: the train set encoded ONCE by the frozen encoder, on disk.

``RUN_DIR/frames/`` holds ``frames.f32`` (a raw float32 array [N, D, L] read through
``np.memmap``, never a Python list in RAM), ``symbols.npy`` (int64 [N, 3]: instrument, pitch,
velocity) and ``meta.json`` (shape, a fingerprint of the encoder weights and the notes, and
the SHA-256 of the symbols). The folder is built atomically (its blocks reserved on disk first,
so a full disk is one line, not SIGBUS); a folder whose fingerprint matches is reused after a
check of its files (sizes, symbols): a damaged one is reported in one line and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sing.errors import SingError
from sing.utils.atomic import atomic_directory
from sing.utils.diskspace import require_space, reserve

logger = logging.getLogger(__name__)


def fingerprint(encoder: nn.Module, names: Sequence[str]) -> str:
    """SHA-256 of the encoder weights and the note names (what the cache depends on)."""
    h = hashlib.sha256()
    for key, value in sorted(encoder.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    h.update("\n".join(names).encode())
    return h.hexdigest()


class EncodingStopped(Exception):
    """The ``stop`` callback of :func:`build_frames_cache` asked to stop (nothing was kept)."""


class DamagedFramesCache(SingError):
    """A frames folder whose files do not match its ``meta.json`` (truncated, damaged)."""


class FramesCache:
    """The encoded train set: ``frames[i]`` Tensor[D, L], ``symbols[i]`` (instr, pitch, vel).

    Raises :class:`DamagedFramesCache` (one line naming the file) when ``meta.json`` is
    unreadable, ``frames.f32`` has not the size its shape says, or ``symbols.npy`` is not the
    int64 [N, 3] array whose SHA-256 ``meta.json`` records.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        meta = read_meta(self.folder)
        shape = meta.get("shape") if meta else None
        if (not isinstance(shape, list) or len(shape) != 3
                or not all(isinstance(d, int) and d > 0 for d in shape)):
            raise DamagedFramesCache("missing or damaged", self.folder / "meta.json")
        self.shape = tuple(shape)
        self.fingerprint = meta.get("fingerprint")
        frames_path = self.folder / "frames.f32"
        expected = int(np.prod(self.shape)) * 4
        size = frames_path.stat().st_size if frames_path.is_file() else None
        if size != expected:
            what = "missing" if size is None else f"{size} bytes, {expected} expected"
            raise DamagedFramesCache(f"truncated or damaged ({what})", frames_path)
        self.frames = np.memmap(frames_path, dtype=np.float32, mode="r", shape=self.shape)
        self.symbols = _load_symbols(self.folder / "symbols.npy", self.shape[0],
                                     meta.get("symbols_sha256"))

    def __len__(self) -> int:
        return self.shape[0]

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """A batch: ``frames`` Tensor[B, D, L] and LongTensors[B] ``instrument``, ``pitch``,
        ``velocity``."""
        idx = np.asarray(indices, dtype=np.int64)
        order = np.argsort(idx, kind="stable")  # read the memmap in ascending order
        frames = np.empty((len(idx), *self.shape[1:]), dtype=np.float32)
        frames[order] = self.frames[idx[order]]
        sym = torch.from_numpy(self.symbols[idx])
        return {"frames": torch.from_numpy(frames), "instrument": sym[:, 0],
                "pitch": sym[:, 1], "velocity": sym[:, 2]}


def _load_symbols(path: Path, n: int, sha256: str | None) -> np.ndarray:
    try:
        symbols = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DamagedFramesCache(f"damaged ({type(err).__name__})", path) from None
    if symbols.dtype != np.int64 or symbols.shape != (n, 3):
        raise DamagedFramesCache(f"damaged ({symbols.dtype} {symbols.shape}, int64 ({n}, 3) "
                                 "expected)", path)
    if sha256 is not None and hashlib.sha256(symbols.tobytes()).hexdigest() != sha256:
        raise DamagedFramesCache("damaged (its checksum does not match)", path)
    return symbols


def read_meta(folder: Path) -> dict | None:
    """The cache's ``meta.json``, or None if absent or unreadable."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


@torch.no_grad()
def build_frames_cache(folder: str | Path, encoder: nn.Module, dataset, device: torch.device,
                       batch_size: int = 16, write: bool = True,
                       progress: bool = False,
                       stop: Callable[[], bool] | None = None) -> FramesCache:
    """Encode every note of ``dataset`` once with the frozen ``encoder`` into ``folder``.

    Args:
        encoder: an Autoencoder (``encode(wav[B, T]) -> frames[B, D, L]``), frozen.
        dataset: items with ``wav`` Tensor[T], ``instrument``, ``pitch``, ``velocity``.
        write: False on ranks that only read the cache another rank writes.
        stop: polled before each batch; when it returns True the encoding is abandoned (the
            temporary folder removed, nothing replaced) and :class:`EncodingStopped` raised,
            so that SIGTERM stops a run within a batch rather than after the whole train set.
    Returns:
        The cache, reused as it is when its fingerprint matches.
    """
    from sing.utils.progress import progress_bar

    folder = Path(folder)
    names = list(dataset.names)
    fp = fingerprint(encoder, names)
    meta = read_meta(folder)
    if meta is not None and meta.get("fingerprint") == fp:
        try:
            cache = FramesCache(folder)
        except DamagedFramesCache as err:
            if not write:
                raise
            logger.warning(f"{err}: encoding the train set again")
        else:
            logger.info("reusing the encoded frames in %s", folder)
            return cache
    if not write:
        raise RuntimeError(f"{folder}: frames cache missing or stale on a reading rank")
    n = len(dataset)
    was_training = encoder.training
    encoder.eval()
    with atomic_directory(folder) as tmp:
        frames = None
        symbols = np.zeros((n, 3), dtype=np.int64)
        bar = progress_bar(total=n, desc="encode train set (stage 2 targets)", unit="note",
                   disable=not progress, leave=False)
        for lo in range(0, n, batch_size):
            if stop is not None and stop():
                bar.close()
                raise EncodingStopped(f"stopped after encoding {lo} of {n} notes")
            items = [dataset[i] for i in range(lo, min(lo + batch_size, n))]
            wav = torch.stack([it["wav"] for it in items]).to(device)
            out = encoder.encode(wav).float().cpu().numpy()
            if frames is None:
                shape = (n, *out.shape[1:])
                nbytes = int(np.prod(shape)) * 4
                # a full disk under a memory map is SIGBUS: check, then reserve the blocks
                require_space(tmp, nbytes, f"the encoded frames ({n} notes)")
                frames = np.memmap(tmp / "frames.f32", dtype=np.float32, mode="w+", shape=shape)
                reserve(tmp / "frames.f32", nbytes, folder / "frames.f32")
            frames[lo:lo + len(items)] = out
            for j, it in enumerate(items):
                symbols[lo + j] = (int(it["instrument"]), int(it["pitch"]), int(it["velocity"]))
            bar.update(len(items))
        bar.close()
        if frames is None:
            raise RuntimeError("cannot encode an empty train set")
        frames.flush()
        del frames
        np.save(tmp / "symbols.npy", symbols)
        (tmp / "meta.json").write_text(json.dumps({
            "shape": list(shape), "fingerprint": fp,
            "symbols_sha256": hashlib.sha256(symbols.tobytes()).hexdigest()}))
    encoder.train(was_training)
    return FramesCache(folder)
