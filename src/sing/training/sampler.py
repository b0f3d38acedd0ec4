"""A resumable, distributed batch sampler.

Each epoch's order is a permutation drawn from ``(seed, epoch)`` alone, so it can be rebuilt
after a crash (and is also stored in checkpoints). The order is cut into *global* batches of
``batch_size`` notes; rank ``r`` of ``world_size`` takes every ``world_size``-th note of each
global batch, so ``--batch-size`` stays the global batch whatever the number of processes,
and a run can even resume on a different number of processes. ``start`` skips the batches
already done (the position inside the epoch).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch


def epoch_order(num_items: int, seed: int, epoch: int, shuffle: bool = True) -> list[int]:
    """The order of the items in ``epoch``: a permutation fixed by ``(seed, epoch)``."""
    if not shuffle:
        return list(range(num_items))
    gen = torch.Generator()
    gen.manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(num_items, generator=gen).tolist()


def num_batches(num_items: int, batch_size: int, world_size: int = 1) -> int:
    """Global batches per epoch; a last partial batch is kept if every rank gets a note."""
    full, rest = divmod(num_items, batch_size)
    return full + (1 if rest >= world_size else 0)


class ResumableBatchSampler:
    """Yields this rank's share (a list of dataset indices) of each global batch.

    Args:
        order: the epoch's order of dataset indices (:func:`epoch_order`).
        batch_size: the global batch size (all ranks together).
        rank, world_size: this process and the number of processes.
        start: index of the first global batch to yield (resume inside an epoch).
    """

    def __init__(self, order: Sequence[int], batch_size: int, rank: int = 0,
                 world_size: int = 1, start: int = 0) -> None:
        if batch_size < world_size:
            raise ValueError(f"batch size {batch_size} is smaller than the {world_size} processes")
        self.order = list(order)
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size
        self.start = start

    def global_batch(self, index: int) -> list[int]:
        """The dataset indices of global batch ``index`` (all ranks)."""
        return self.order[index * self.batch_size:(index + 1) * self.batch_size]

    def __len__(self) -> int:
        return max(num_batches(len(self.order), self.batch_size, self.world_size) - self.start, 0)

    def __iter__(self) -> Iterator[list[int]]:
        total = num_batches(len(self.order), self.batch_size, self.world_size)
        for index in range(self.start, total):
            yield self.global_batch(index)[self.rank::self.world_size]
