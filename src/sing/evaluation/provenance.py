"""Is this evaluation held out? Compare a model file's training data with the data it is scored on.

A model file written by ``sing train`` records the fingerprint of the train notes it learned
from (:mod:`sing.data.fingerprint`). Scoring it on another data set or another split of the same
folder may score notes it trained on as "held out", and scoring it on notes of another length
cuts both signals to the shorter one: both are refused with one line, unless the user asks for
it (``--allow-other-data``), in which case each problem is logged as a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sing.errors import SingError

logger = logging.getLogger(__name__)

_ADVICE = "evaluate on the data it was trained on, or pass --allow-other-data to score it anyway"


def evaluation_problems(info: Any, dataset: Any, split: str) -> list[str]:
    """Why scoring the model of ``info`` (a :class:`~sing.models.io.ModelInfo`) on ``dataset``
    (an ``NSynthDataset`` split named ``split``) would not be a held-out evaluation."""
    from sing.data.fingerprint import train_fingerprint
    from sing.data.split import load_checked_split

    problems = []
    model_length = info.vocabulary.note_length
    data_length = dataset.vocabulary.note_length
    if model_length != data_length:
        problems.append(f"the model makes {model_length}-sample notes, the notes of "
                        f"{dataset.root} have {data_length} samples")
    record = info.training_data
    if record is None:
        logger.warning(f"{info.path}: the file does not record its training data (written "
                       f"outside `sing train` or by an older sing): cannot check that the "
                       f"{split} notes of {dataset.root} are held out")
        return problems
    train = load_checked_split(dataset.root, dataset.examples)["train"]
    if record["fingerprint"] != train_fingerprint(train, record["note_length"]):
        where = f" in {record['data']}" if record.get("data") else ""
        problems.append(
            f"it was trained on another data set or split ({record.get('train_notes')} train "
            f"notes{where}), not the train split of {dataset.root}: its {split} notes may be "
            "notes it trained on")
    elif split == "train":
        logger.warning(f"scoring {info.path.name} on the notes it trained on (--split train): "
                       "these scores are not held out")
    return problems


def check_evaluation_data(info: Any, dataset: Any, split: str,
                          allow_other_data: bool = False) -> None:
    """Raise :class:`SingError` (one line naming the model file) when
    :func:`evaluation_problems` finds any; with ``allow_other_data`` log them as warnings."""
    problems = evaluation_problems(info, dataset, split)
    if not problems:
        return
    if not allow_other_data:
        raise SingError(f"{'; '.join(problems)}: {_ADVICE}", Path(info.path))
    for problem in problems:
        logger.warning(f"WARNING: {info.path}: {problem} (--allow-other-data): these scores "
                       "are not a held-out evaluation")
