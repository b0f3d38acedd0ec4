"""Distributed setup for ``torchrun``: DistributedDataParallel with gloo (CPU) or nccl (CUDA).

``torchrun --nproc_per_node N`` (and ``--nnodes`` with its rendezvous) sets ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``; :func:`setup` reads them and joins the process group. A
plain ``python``/``sing`` process is a world of one and needs no process group at all.

Only rank 0 writes (checkpoints, logs, model files). :func:`teardown` makes every rank meet at
a barrier before ``destroy_process_group``: without it a rank occasionally aborted at exit under
load ("terminate called without an active exception").
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on rank 0, the only rank that writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group joins more than one process."""
        return self.world_size > 1


def env_info() -> DistInfo:
    """The rank / world size that ``torchrun`` put in the environment (a world of one if none)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def resolve_device(device: str, info: DistInfo | None = None) -> torch.device:
    """:func:`sing.utils.device.resolve_device`, and on CUDA each rank takes GPU
    ``local_rank`` (when the device names no index) and makes it current."""
    from sing.utils.device import resolve_device as resolve

    info = info or env_info()
    resolved = resolve(device)
    if resolved.type == "cuda":
        if resolved.index is None:
            resolved = torch.device("cuda", info.local_rank % max(torch.cuda.device_count(), 1))
        torch.cuda.set_device(resolved)
    return resolved


def setup(device: torch.device) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (gloo on CPU, nccl on CUDA)."""
    info = env_info()
    if info.distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs = {"device_id": device} if device.type == "cuda" else {}
        dist.init_process_group(backend=backend, **kwargs)
        logger.debug("rank %d/%d joined the %s process group", info.rank, info.world_size,
                     backend)
    return info


def teardown() -> None:
    """Meet every rank at a barrier, then destroy the process group (no-op when alone)."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` (any shape, float64 advised) over all ranks; identity when alone."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def barrier() -> None:
    """Wait for every rank (no-op when alone)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
