"""Constructing a module without its random initialisation (:func:`skip_random_init`), for a
model whose weights are loaded right after, or whose shapes alone are wanted (on the meta
device, where the initialisation would also import ``torch._dynamo``: ~1.5 CPU-s of a cold
start)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["skip_random_init"]

#: The ``torch.nn.init`` functions that the modules of our models call when constructed.
_INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                   "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                   "orthogonal_")
_INIT_LOCK = threading.Lock()
#: Threads now inside :func:`skip_random_init` (``active``) and the patched functions' count.
_SKIPPING = threading.local()
_INIT_STATE: dict[str, Any] = {"users": 0, "saved": {}}


def _skippable(original: Any) -> Any:
    """``original`` (a ``torch.nn.init`` function), doing nothing in a skipping thread."""

    def init_function(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if getattr(_SKIPPING, "active", False):
            return tensor
        return original(tensor, *args, **kwargs)

    init_function.__wrapped__ = original  # type: ignore[attr-defined]
    return init_function


@contextlib.contextmanager
def skip_random_init() -> Iterator[None]:
    """Modules constructed inside, by this thread, are left uninitialised (``torch.nn.init``'s
    functions do nothing): for a model whose every parameter and persistent buffer is loaded
    from a file right after. Non-persistent buffers (the decoder's window) are still computed.
    It saves the random initialisation: 0.55 s of the paper preset's construction on 2 CPU
    cores.

    ``torch.nn.init``'s functions are replaced while any thread is inside (the first to enter
    patches, the last to leave restores them); the replacements skip only in the threads that
    are inside, so a model constructed meanwhile by another thread is initialised as usual.
    """
    from torch.nn import init

    with _INIT_LOCK:
        if _INIT_STATE["users"] == 0:
            saved = {name: getattr(init, name) for name in _INIT_FUNCTIONS if hasattr(init, name)}
            for name, function in saved.items():
                setattr(init, name, _skippable(function))
            _INIT_STATE["saved"] = saved
        _INIT_STATE["users"] += 1
    outer = getattr(_SKIPPING, "active", False)
    _SKIPPING.active = True
    try:
        yield
    finally:
        _SKIPPING.active = outer
        with _INIT_LOCK:
            _INIT_STATE["users"] -= 1
            if _INIT_STATE["users"] == 0:
                for name, function in _INIT_STATE["saved"].items():
                    setattr(init, name, function)
                _INIT_STATE["saved"] = {}
