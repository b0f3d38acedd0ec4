"""The listening test without a browser: held-out audio, trial orders, the answers CSV."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import numpy as np
import pytest

from sing.app.listening import AnswerLog, HeldOutNotes, ListeningTest, make_trials
from sing.errors import SingError
from sing.evaluation.listening import COLUMNS, read_answers


@pytest.fixture(scope="module")
def held(gm_model, listen_data: Path) -> HeldOutNotes:
    return HeldOutNotes(gm_model, listen_data)


def test_held_out_audio_is_the_evaluations(held: HeldOutNotes, gm_model) -> None:
    import sing.api
    from sing.data.nsynth import NSynthDataset
    from sing.data.split import load_split
    from sing.evaluation.evaluator import _resample_batch, build_resample_reference

    assert held.notes == sorted(load_split(held.root)["test"])
    test = NSynthDataset(held.root, split="test")
    train = NSynthDataset(held.root, split="train")
    items = [test[i] for i in range(len(test))]
    resampled = _resample_batch(build_resample_reference(train), train, items, 16000)
    for j, item in enumerate(items):
        name = item["name"]
        truth = held.audio(name, "ground_truth")
        np.testing.assert_array_equal(truth, item["wav"].numpy())
        meta = held.describe(name)
        expected = sing.api.synthesize(gm_model, meta["instrument"], meta["pitch"],
                                       meta["velocity"]).numpy()
        np.testing.assert_array_equal(held.audio(name, "sing"), expected)
        assert held.has_resample(name)
        np.testing.assert_allclose(held.audio(name, "resample"), resampled[j].numpy(),
                                   atol=1e-7)
        assert np.abs(held.audio(name, "sing") - truth).max() > 1e-3
    with pytest.raises(SingError, match="not one of the held-out notes"):
        held.audio(train.names[0], "sing")


def test_trials_seeded_per_listener(held: HeldOutNotes) -> None:
    ann = make_trials(held, "ann", seed=0)
    assert ann == make_trials(held, "ann", seed=0)
    assert len(ann) == 2 * 4  # per note: 1 ABX + 3 preference pairs
    others = [make_trials(held, f"listener{i}", seed=0) for i in range(6)]
    assert any([t.id for t in o] != [t.id for t in ann] for o in others)
    assert {t.id for o in others for t in o} == {t.id for t in ann}
    xs = []
    for trial in ann:
        assert trial.note in held.notes and trial.a != trial.b
        if trial.kind == "abx":
            assert {trial.a, trial.b} == {"sing", "ground_truth"}
            assert trial.x in (trial.a, trial.b)
        else:
            assert trial.x == ""
            assert {trial.a, trial.b} <= {"sing", "resample", "ground_truth"}
    # the order of A and B and the choice of X vary over listeners
    for o in others + [ann]:
        xs += [(t.a, t.x) for t in o if t.kind == "abx"]
    assert len({a for a, _ in xs}) == 2 and len({x for _, x in xs}) == 2


def test_answers_are_appended_at_once_and_resume(held: HeldOutNotes, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    test = ListeningTest(held, AnswerLog(path), seed=3)
    trials, total = test.remaining("ann")
    assert total == len(trials) == 8
    first = trials[0]
    row = test.answer("  ann ", first, "B")
    assert row["chosen"] == first.b
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 2  # on disk before the next answer
    test.answer("ann", trials[1], "A")
    left, total = ListeningTest(held, AnswerLog(path), seed=3).remaining("ann")  # a new server
    assert total == 8 and [t.id for t in left] == [t.id for t in trials[2:]]
    answers = read_answers(path)
    assert [a.trial for a in answers] == [first.id, trials[1].id]
    for answer, trial in zip(answers, trials, strict=False):
        if trial.kind == "abx":
            assert answer.x == trial.x and answer.correct == (answer.chosen == trial.x)
    with pytest.raises(SingError, match="an answer is A or B"):
        test.answer("ann", trials[2], "C")
    with pytest.raises(SingError, match="listener id"):
        test.remaining("   ")


def test_concurrent_listeners_never_interleave(held: HeldOutNotes, tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    log = AnswerLog(path)
    trials = make_trials(held, "x")

    def listener(i: int) -> None:
        other = AnswerLog(path)  # also a second handle: the fcntl lock orders them
        for j, trial in enumerate(trials):
            (log if j % 2 else other).append(f"listener {i}", trial, "AB"[j % 2])

    threads = [threading.Thread(target=listener, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(COLUMNS) and len(rows) == 1 + 8 * len(trials)
    assert all(len(r) == len(COLUMNS) for r in rows)
    assert len(read_answers(path)) == 8 * len(trials)


def test_refuses_a_file_that_is_not_answers(tmp_path: Path) -> None:
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(SingError, match="not a listening-test answers file"):
        AnswerLog(other)
    with pytest.raises(SingError, match="folder does not exist"):
        AnswerLog(tmp_path / "missing" / "a.csv")


def test_model_must_know_the_data(listen_data: Path) -> None:
    from sing.data.vocabulary import Vocabulary

    class Other:  # a model whose vocabulary lacks the data's instruments
        vocabulary = Vocabulary(instruments=("flute_acoustic_073",), instrument_ids=(73,),
                                families=("flute",))

    with pytest.raises(SingError, match="was not trained on instrument"):
        HeldOutNotes(Other(), listen_data)
