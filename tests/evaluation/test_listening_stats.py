"""`sing listening-report`: exact binomial statistics checked against hand-computed sums."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from sing.cli import main
from sing.errors import SingError
from sing.evaluation.listening import (
    COLUMNS,
    binomial_summary,
    listening_statistics,
    read_answers,
    write_report,
)


def _pmf(k: int, n: int, p: float) -> float:
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


def _two_sided_p(k: int, n: int) -> float:
    """Exact two-sided p against 0.5: the mass of outcomes no likelier than k."""
    ref = _pmf(k, n, 0.5)
    return min(1.0, sum(_pmf(i, n, 0.5) for i in range(n + 1) if _pmf(i, n, 0.5) <= ref
                        * (1 + 1e-7)))


def _upper_tail(k: int, n: int, p: float) -> float:  # P(X >= k)
    return sum(_pmf(i, n, p) for i in range(k, n + 1))


def _lower_tail(k: int, n: int, p: float) -> float:  # P(X <= k)
    return sum(_pmf(i, n, p) for i in range(0, k + 1))


@pytest.mark.parametrize(("k", "n"), [(7, 10), (23, 33), (0, 5), (12, 12), (50, 100)])
def test_binomial_summary_matches_hand_sums(k: int, n: int) -> None:
    s = binomial_summary(k, n)
    assert s["n"] == n and s["k"] == k and s["rate"] == pytest.approx(k / n)
    assert s["p_value"] == pytest.approx(_two_sided_p(k, n), rel=1e-9, abs=1e-12)
    # Clopper-Pearson: at the bounds, the tail beyond k holds 2.5% exactly
    if k > 0:
        assert _upper_tail(k, n, s["ci_low"]) == pytest.approx(0.025, rel=1e-6)
    else:
        assert s["ci_low"] == 0.0
    if k < n:
        assert _lower_tail(k, n, s["ci_high"]) == pytest.approx(0.025, rel=1e-6)
    else:
        assert s["ci_high"] == 1.0
    assert s["ci_low"] <= k / n <= s["ci_high"]


def test_seven_of_ten_by_hand() -> None:
    # 2 * (C(10,7) + C(10,8) + C(10,9) + C(10,10)) / 2^10 = 2 * 176 / 1024
    assert binomial_summary(7, 10)["p_value"] == pytest.approx(352 / 1024, rel=1e-12)


def _write(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for i, row in enumerate(rows):
            full = {c: "" for c in COLUMNS}
            full.update(time="t", trial=f"t{i}", note=f"n{i}", **row)
            w.writerow(full)
    return path


def _abx(listener: str, family: str, x: str, chosen: str) -> dict:
    return dict(listener=listener, kind="abx", family=family, a="sing", b="ground_truth", x=x,
                chosen=chosen, answer="A" if chosen == "sing" else "B")


def _pref(listener: str, family: str, a: str, b: str, chosen: str) -> dict:
    return dict(listener=listener, kind="preference", family=family, a=a, b=b, chosen=chosen,
                answer="A" if chosen == a else "B")


@pytest.fixture
def answers_csv(tmp_path: Path) -> Path:
    rows = []
    # ABX: keyboard 6 of 8 correct, string 2 of 4 correct
    for i in range(8):
        rows.append(_abx("ann", "keyboard", "sing", "sing" if i < 6 else "ground_truth"))
    for i in range(4):
        rows.append(_abx("bob", "string", "ground_truth", "ground_truth" if i < 2 else "sing"))
    # preference sing vs resample, in both presentation orders: sing chosen 9 of 12
    for i in range(12):
        a, b = ("sing", "resample") if i % 2 else ("resample", "sing")
        rows.append(_pref("ann", "keyboard", a, b, "sing" if i < 9 else "resample"))
    # ground truth vs sing: ground truth chosen 3 of 5
    for i in range(5):
        rows.append(_pref("bob", "string", "ground_truth", "sing",
                          "ground_truth" if i < 3 else "sing"))
    return _write(tmp_path / "answers.csv", rows)


def test_statistics_per_family_and_overall(answers_csv: Path) -> None:
    stats = listening_statistics(read_answers(answers_csv))
    assert stats["answers"] == 29 and stats["listeners"] == 2
    abx = stats["abx"]
    assert (abx["all"]["k"], abx["all"]["n"]) == (8, 12)
    assert (abx["keyboard"]["k"], abx["keyboard"]["n"]) == (6, 8)
    assert (abx["string"]["k"], abx["string"]["n"]) == (2, 4)
    assert abx["all"]["p_value"] == pytest.approx(_two_sided_p(8, 12), rel=1e-9)
    pref = stats["preference"]
    assert list(pref) == ["sing_vs_resample", "sing_vs_ground_truth"]
    assert (pref["sing_vs_resample"]["all"]["k"], pref["sing_vs_resample"]["all"]["n"]) == (9, 12)
    # reported as the rate of the pair's first system (SING) whatever the shown order
    assert (pref["sing_vs_ground_truth"]["all"]["k"],
            pref["sing_vs_ground_truth"]["all"]["n"]) == (2, 5)
    assert pref["sing_vs_ground_truth"]["string"]["rate"] == pytest.approx(0.4)


def test_cli_writes_json_and_markdown(answers_csv: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["listening-report", str(answers_csv)]) == 0
    out = capsys.readouterr().out
    assert "| keyboard | 8 | 6 | 75.0% |" in out
    data = json.loads((answers_csv.parent / "answers.report.json").read_text())
    assert data["abx"]["string"]["rate"] == 0.5
    assert data["preference"]["sing_vs_resample"]["all"]["p_value"] == pytest.approx(
        _two_sided_p(9, 12), rel=1e-9)
    md = (answers_csv.parent / "answers.report.md").read_text()
    assert "### sing vs resample" in md and "75.0%" in md


def test_duplicate_answers_count_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", [_abx("ann", "keyboard", "sing", "sing")])
    with open(path, "a", encoding="utf-8") as f:  # the same trial answered again
        f.write(",".join({"listener": "ann", "trial": "t0", "kind": "abx", "family": "keyboard",
                          "a": "sing", "b": "ground_truth", "x": "sing", "chosen": "sing"}
                         .get(c, "") for c in COLUMNS) + "\n")
    assert len(read_answers(path)) == 1


@pytest.mark.parametrize(("row", "message"), [
    ({"kind": "mos"}, "unknown trial kind"),
    ({"a": "wavenet"}, "unknown system 'wavenet'"),
    ({"chosen": "resample"}, "neither of the trial's systems"),
    ({"listener": ""}, "no listener id"),
])
def test_bad_rows_name_file_and_line(tmp_path: Path, row: dict, message: str,
                                     capsys: pytest.CaptureFixture) -> None:
    good = _abx("ann", "keyboard", "sing", "sing")
    path = _write(tmp_path / "a.csv", [good, {**good, **row}])
    with pytest.raises(SingError, match=message) as err:
        read_answers(path)
    assert f"{path}:3" in str(err.value)
    assert main(["listening-report", str(path)]) == 2
    assert capsys.readouterr().err.startswith("sing: error: ")


def test_not_a_csv_and_empty(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    junk = tmp_path / "x.csv"
    junk.write_bytes(b"\xff\xfe\x00garbage")
    assert main(["listening-report", str(junk)]) == 2
    empty = tmp_path / "e.csv"
    empty.write_text(",".join(COLUMNS) + "\n")
    with pytest.raises(SingError, match="no answers yet"):
        write_report(empty)
    assert not (tmp_path / "e.report.json").exists()
