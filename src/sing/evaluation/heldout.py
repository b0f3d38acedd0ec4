"""One cached held-out evaluation: a model file's results on a test split, reused while the
model file and the notes stay the same.

:mod:`sing.recipes.gm_model` (``OUT/heldout.json``) and :mod:`sing.recipes.learning_curve`
(``OUT/<preset>/heldout.json``) both call :func:`cached_heldout`, so both caches have one
schema: ``{"version", "key", "results"}`` with ``results`` the evaluator's results (systems ->
overall and per family, ``relative_pitch_accuracy``...) plus ``eval_s``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: The cache file's name and schema version.
HELDOUT_FILE = "heldout.json"
HELDOUT_VERSION = 2


def heldout_key(model_file: Path, test_names: Sequence[str], train_names: Sequence[str],
                extra: Sequence[Any] = ()) -> str:
    """SHA-256 of what decides the results: the model file (size, mtime), the notes, ``extra``."""
    stat = Path(model_file).stat()
    return hashlib.sha256(json.dumps([
        HELDOUT_VERSION, stat.st_size, stat.st_mtime_ns, list(test_names), list(train_names),
        list(extra),
    ]).encode()).hexdigest()


def cached_heldout(cache: Path, model: Any, model_file: Path, test_set: Any, train_set: Any,
                   device: str, progress: bool = True, extra_key: Sequence[Any] = ()
                   ) -> dict[str, Any]:
    """The evaluator's results of ``model`` (loaded from ``model_file``) on every note of
    ``test_set``, with the resample reference from ``train_set``; read from ``cache`` when it
    holds them for the same model file and notes, else computed and written atomically.

    ``model`` may be a callable returning the model, so that a reused cache loads nothing.
    """
    from sing.evaluation.evaluator import evaluate_model
    from sing.evaluation.tables import to_jsonable
    from sing.utils.atomic import atomic_write_text

    key = heldout_key(model_file, test_set.names, train_set.names, extra_key)
    if cache.is_file():
        try:
            saved = json.loads(cache.read_text(encoding="utf-8"))
            if saved.get("key") == key and saved.get("version") == HELDOUT_VERSION:
                logger.info(f"held-out evaluation reused ({cache})")
                return saved["results"]
        except (OSError, ValueError, AttributeError, KeyError):
            pass  # unreadable cache: evaluate again
    if callable(model) and not hasattr(model, "parameters"):
        model = model()
    started = time.monotonic()
    evaluation = evaluate_model(model, test_set, train_set, device=device, progress=progress,
                                system="sing")
    results = to_jsonable({k: v for k, v in evaluation.results.items() if k != "meta"})
    results["eval_s"] = round(time.monotonic() - started, 3)
    atomic_write_text(cache, json.dumps({"version": HELDOUT_VERSION, "key": key,
                                         "results": results}, indent=2) + "\n")
    return results
