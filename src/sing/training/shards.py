"""The gradient of a batch as shards computed side by side, one CPU thread each.

On a CPU with few cores, a training step of SING spends most of its time in products with
few rows: the LSTM's recurrent product has one row per note of the batch (16 rows at batch
16), and such products gain little from a second intra-op thread (the small preset's stage 3
runs at ~23 notes per CPU-second on two threads against ~26 on one). Splitting the batch into
``k`` shards and running each shard's forward and backward on its own thread, each thread
with ONE intra-op thread, keeps every core on single-threaded kernels at their best rate.

The result is the batch's gradient: each shard's loss is the mean over its notes, weighted by
its share of the batch, so their sum is the batch mean (losses that are not means over notes
must be written so, e.g. :func:`sing.training.losses.relative_wav_mse` with the batch's
target power). The shards' gradients are added in shard order, so a step is deterministic and
a resumed run continues bit for bit; it differs from the one-shard gradient by float32
rounding (the sums run in another order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch

#: A shard's loss: called with the slice of the batch's notes it takes, returns the mean loss
#: over those notes (a scalar tensor with a gradient).
ShardLoss = Callable[[slice], torch.Tensor]


def shard_slices(n: int, shards: int) -> list[slice]:
    """Split ``n`` notes into at most ``shards`` contiguous, non-empty slices, sizes differing by
    at most one (the larger first).

    Args:
        n: notes in the batch (>= 1).
        shards: wanted number of shards (>= 1).
    Returns:
        ``min(n, shards)`` slices covering ``range(n)`` in order.
    """
    if n < 1 or shards < 1:
        raise ValueError(f"cannot split {n} notes into {shards} shards")
    k = min(n, shards)
    size, extra = divmod(n, k)
    out, start = [], 0
    for i in range(k):
        stop = start + size + (1 if i < extra else 0)
        out.append(slice(start, stop))
        start = stop
    return out


#: What the shards' own copies of the gradient may take together by default (bytes): each
#: shard returns a whole gradient, so k shards hold k copies of the parameters at once.
GRADIENT_MEMORY = 1 << 30


def default_shards(threads: int, parameter_bytes: int, memory: int = GRADIENT_MEMORY) -> int:
    """The default number of shards: one per torch CPU thread, at most as many as keep the
    shards' gradient copies within ``memory`` bytes (the paper preset's ~250 MB of parameters:
    4; ``small``: dozens), at least 1.

    Args:
        threads: torch's intra-op threads (``torch.get_num_threads()``).
        parameter_bytes: bytes of the parameters a step differentiates.
        memory: the budget of the gradient copies.
    """
    fit = memory // max(1, parameter_bytes)
    return max(1, min(threads, fit))


def _single_thread() -> None:
    torch.set_num_threads(1)


class ShardedGradient:
    """Computes a batch's gradient as ``shards`` shards on as many threads (one intra-op thread
    each: the caller's thread runs the first shard and must itself run with one intra-op
    thread, see :func:`single_threaded`).

    Args:
        shards: number of shards (>= 1); 1 computes the gradient in the caller's thread.
    """

    def __init__(self, shards: int) -> None:
        if shards < 1:
            raise ValueError(f"shards must be >= 1, not {shards}")
        self.shards = shards
        self._pool: ThreadPoolExecutor | None = None
        if shards > 1:
            self._pool = ThreadPoolExecutor(max_workers=shards - 1, initializer=_single_thread,
                                            thread_name_prefix="sing-shard")

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> ShardedGradient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def gradients(self, loss: ShardLoss, n: int, params: Sequence[torch.nn.Parameter],
                  extra: Callable[[], torch.Tensor | float] | None = None,
                  scale: float = 1.0) -> torch.Tensor:
        """Set ``p.grad`` of every parameter to the gradient of ``scale * (batch mean loss +
        extra())`` and return that value (detached, without ``scale``).

        Args:
            loss: the mean loss over the notes of a slice of the batch.
            n: notes in the batch.
            params: the parameters to differentiate (their ``.grad`` is replaced; None where
                no shard's loss depends on them).
            extra: a term of the parameters alone (e.g. a penalty), added once.
            scale: multiplies the gradient (e.g. a distributed average's correction).
        Returns:
            the loss, a detached scalar tensor.
        """
        slices = shard_slices(n, self.shards)
        params = list(params)

        def objective(i: int) -> torch.Tensor:
            value = loss(slices[i]) * ((slices[i].stop - slices[i].start) / n)
            if i == 0 and extra is not None:
                value = value + extra()
            return value

        if self._pool is None or len(slices) == 1:  # (no pool: one shard)
            value = objective(0)
            for p in params:
                p.grad = None
            (value * scale).backward()
            return value.detach()

        grad_enabled = torch.is_grad_enabled()

        def job(i: int) -> tuple[torch.Tensor, tuple[torch.Tensor | None, ...]]:
            with torch.set_grad_enabled(grad_enabled):
                value = objective(i)
                grads = torch.autograd.grad(value * scale, params, allow_unused=True)
            return value.detach(), grads

        futures = [self._pool.submit(job, i) for i in range(1, len(slices))]
        try:
            results = [job(0)]
        finally:  # wait for every shard even when this one failed
            results += [f.result() for f in futures]
        total = results[0][0]
        for value, _ in results[1:]:
            total = total + value
        for j, p in enumerate(params):
            grad = None
            for _, grads in results:  # in shard order: deterministic
                g = grads[j]
                if g is not None:
                    grad = g if grad is None else grad + g
            p.grad = grad
        return total


@contextmanager
def single_threaded(enabled: bool = True) -> Iterator[None]:
    """Context: torch runs one intra-op thread in the calling thread (the previous number is
    restored on exit); does nothing when ``enabled`` is False."""
    if not enabled:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
