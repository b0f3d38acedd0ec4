"""The C allocator of a ``sing`` process: freed memory kept for reuse.

A SING network's activations are large and short-lived: the paper decoder's layers make
tensors of ~66 MB for every 16 notes, a training step dozens of them. glibc's ``malloc``
serves any block over its mmap threshold (at most 32 MB) with a fresh ``mmap`` and returns it
with ``munmap`` when freed, so every such tensor costs the kernel a page fault and a zeroed
page for each 4 KiB it touches: ~1.2 million faults and 3-5 s of system time in a
`sing generate` of 128 paper notes (docs/benchmarks.md).

glibc's tunables can keep those pages instead: every block from the heap
(``glibc.malloc.mmap_max=0``), a heap that never shrinks (``trim_threshold``), one heap for
all threads (``arena_max=1``: a worker thread's own heap would ``mmap`` blocks larger than
itself anyway) and no per-thread cache of small blocks (``tcache_count=0``). The last one
matters because torch allocates with ``posix_memalign``, which cuts a small remainder off
every block; parked in the cache, that remainder keeps the freed block from merging back, and
the next block of the same size, a few bytes larger with its alignment slack, never fits in
it (a 64 MiB tensor allocated and freed in a loop then faults in every page, every time).
A freed tensor's pages are then reused by the next one, already mapped. The cost is that the
process keeps its peak heap until it exits.

These settings are read by glibc when a process starts, so :func:`keep_freed_memory` starts
the process again (``exec``, same PID, same arguments) with them in ``GLIBC_TUNABLES``. The
console script does this first of all (:func:`sing.cli.console`); the library never does.
Nothing happens where the C library is not glibc, where ``GLIBC_TUNABLES`` is already set
(the user's own settings win), or with ``SING_KEEP_FREED_MEMORY=0``. The restarted process
removes the variable from its environment again, so programs it runs (FluidSynth, a child
``sing``) keep their own defaults or tune themselves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = ["ENV", "TUNABLES", "glibc_version", "keep_freed_memory", "tuned_environment"]

#: Environment variable: ``0`` leaves glibc's allocator as it is.
ENV = "SING_KEEP_FREED_MEMORY"

#: What the restarted process runs with (see the module docstring).
TUNABLES = ("glibc.malloc.tcache_count=0:glibc.malloc.mmap_max=0:"
            f"glibc.malloc.trim_threshold={1 << 40}:glibc.malloc.arena_max=1")

# Set in the restarted process's environment, to tell it that it is the restarted one.
_MARK = "_SING_ALLOCATOR_TUNED"


def glibc_version() -> str | None:
    """The running glibc's version (``"2.36"``), or None where the C library is not glibc."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    if not text or not text.startswith("glibc "):
        return None
    return text.split()[1]


def tuned_environment(environ: Mapping[str, str]) -> dict[str, str] | None:
    """The environment to restart a process in, or None to leave it as it is (not glibc,
    ``SING_KEEP_FREED_MEMORY=0``, ``GLIBC_TUNABLES`` already set, or already restarted)."""
    if environ.get(ENV, "1").strip() == "0" or _MARK in environ:
        return None
    if "GLIBC_TUNABLES" in environ or glibc_version() is None:
        return None
    return {**environ, "GLIBC_TUNABLES": TUNABLES, _MARK: "1"}


def keep_freed_memory() -> bool:
    """Restart this process with glibc keeping freed memory (see the module docstring), unless
    it should be left as it is; call it first thing in a program's entry point.

    Returns:
        True in the restarted process (the tunables are in effect; they have been removed from
        ``os.environ`` for the programs it runs), False where nothing was done. In the
        process that restarts, it does not return.
    """
    if os.environ.get(_MARK) == "1" and os.environ.get("GLIBC_TUNABLES") == TUNABLES:
        del os.environ[_MARK], os.environ["GLIBC_TUNABLES"]
        return True
    env = tuned_environment(os.environ)
    argv = list(getattr(sys, "orig_argv", ()))
    if env is None or len(argv) < 2 or not sys.executable:
        return False
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    try:
        os.execve(sys.executable, [sys.executable, *argv[1:]], env)
    except OSError:  # not executable from here: carry on as we are
        return False
    return False  # pragma: no cover - execve does not return
