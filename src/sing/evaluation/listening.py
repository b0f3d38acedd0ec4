"""Statistics of a blind listening test: ABX accuracy and pairwise preference rates.

The answers are the CSV that ``sing app``'s Listen tab appends to (:mod:`sing.app.listening`
writes it; :data:`COLUMNS` are its fields). Two kinds of trial:

* ``abx``: A and B are the recording and SING in a random order, X is one of them; the
  listener says which of A and B X is. ``correct`` is 1 when they matched X to its system.
  Accuracy near 50% means the listener could not tell SING from the recording.
* ``preference``: two of SING, the resample reference and the ground truth, in a random order;
  the listener picks the one that sounds better (``chosen``). Each pair is reported in the
  fixed order of :data:`SYSTEMS` as the rate at which the first system was preferred (the
  paper's protocol: 69.7% of its answers preferred SING to the WaveNet autoencoder).

Every rate comes with the exact two-sided binomial p-value against chance (0.5,
``scipy.stats.binomtest``) and the exact (Clopper-Pearson) 95% interval, per instrument family
and overall. :func:`write_report` writes them as JSON and Markdown, atomically.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sing.errors import SingError, describe_os_error

logger = logging.getLogger(__name__)

#: The systems a trial plays, in the order pairs are reported in.
SYSTEMS: tuple[str, ...] = ("sing", "resample", "ground_truth")
#: Trial kinds.
KINDS: tuple[str, ...] = ("abx", "preference")
#: The answers CSV's columns, in order.
COLUMNS: tuple[str, ...] = (
    "time", "listener", "trial", "kind", "note", "instrument", "family", "pitch", "velocity",
    "a", "b", "x", "answer", "chosen", "correct",
)
#: Confidence level of the intervals.
CONFIDENCE = 0.95
OVERALL = "all"


@dataclass(frozen=True)
class Answer:
    """One answer of the CSV (already checked)."""

    listener: str
    trial: str
    kind: str
    family: str
    a: str
    b: str
    x: str
    chosen: str

    @property
    def correct(self) -> bool:
        """ABX: whether X was matched to its own system."""
        return self.kind == "abx" and self.chosen == self.x

    @property
    def pair(self) -> tuple[str, str]:
        """The two systems in the order of :data:`SYSTEMS`."""
        first, second = sorted((self.a, self.b), key=SYSTEMS.index)
        return first, second


def read_answers(path: str | Path) -> list[Answer]:
    """Read and check an answers CSV; a malformed row raises :class:`SingError` naming
    ``FILE:LINE``. A listener who answered the same trial twice counts once (the first)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ("listener", "trial", "kind", "family", "a", "b", "x",
                                   "chosen") if c not in (reader.fieldnames or ())]
            if missing:
                raise SingError(f"not a listening-test answers file (no column "
                                f"{', '.join(missing)})", path)
            answers: list[Answer] = []
            seen: set[tuple[str, str]] = set()
            for row in reader:
                line = reader.line_num
                answer = _parse_row(row, f"{path}:{line}")
                key = (answer.listener, answer.trial)
                if key in seen:
                    logger.warning("%s:%d: %s answered trial %s again; the first answer counts",
                                   path, line, answer.listener, answer.trial)
                    continue
                seen.add(key)
                answers.append(answer)
    except UnicodeDecodeError:
        raise SingError("not a text CSV file (not UTF-8)", path) from None
    except csv.Error as err:
        raise SingError(f"malformed CSV ({err})", path) from None
    except OSError as err:
        raise SingError(describe_os_error(err).split(": ", 1)[-1], path) from None
    return answers


def _parse_row(row: dict[str, Any], where: str) -> Answer:
    def get(name: str) -> str:
        value = row.get(name)
        return "" if value is None else str(value).strip()

    kind = get("kind")
    if kind not in KINDS:
        raise SingError(f"unknown trial kind '{kind}' ({', '.join(KINDS)})", where)
    a, b, x, chosen = get("a"), get("b"), get("x"), get("chosen")
    for name, value in (("a", a), ("b", b)):
        if value not in SYSTEMS:
            raise SingError(f"unknown system '{value}' in column {name} "
                            f"({', '.join(SYSTEMS)})", where)
    if a == b:
        raise SingError(f"a trial compares {a} with itself", where)
    if chosen not in (a, b):
        raise SingError(f"the answer '{chosen}' is neither of the trial's systems {a}, {b}",
                        where)
    if kind == "abx" and x not in (a, b):
        raise SingError(f"X ('{x}') is neither of the trial's systems {a}, {b}", where)
    listener = get("listener")
    if not listener:
        raise SingError("no listener id", where)
    return Answer(listener=listener, trial=get("trial"), kind=kind,
                  family=get("family") or "unknown", a=a, b=b, x=x, chosen=chosen)


def binomial_summary(successes: int, trials: int, confidence: float = CONFIDENCE) -> dict:
    """Rate, exact two-sided binomial p-value against 0.5 and the Clopper-Pearson interval.

    Returns ``{"n", "k", "rate", "p_value", "ci_low", "ci_high"}`` (rate, p and the interval
    None when ``trials`` is 0).
    """
    from scipy.stats import binomtest

    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes of {trials} trials")
    if trials == 0:
        return {"n": 0, "k": 0, "rate": None, "p_value": None, "ci_low": None, "ci_high": None}
    test = binomtest(successes, trials, p=0.5, alternative="two-sided")
    ci = test.proportion_ci(confidence_level=confidence, method="exact")
    return {"n": trials, "k": successes, "rate": successes / trials,
            "p_value": float(test.pvalue), "ci_low": float(ci.low), "ci_high": float(ci.high)}


def _by_family(answers: Sequence[Answer]) -> dict[str, list[Answer]]:
    groups: dict[str, list[Answer]] = {OVERALL: list(answers)}
    for answer in answers:
        groups.setdefault(answer.family, []).append(answer)
    return {k: groups[k] for k in [OVERALL, *sorted(k for k in groups if k != OVERALL)]}


def abx_statistics(answers: Iterable[Answer]) -> dict[str, dict]:
    """ABX accuracy per family (and ``"all"``): :func:`binomial_summary` of correct answers."""
    abx = [a for a in answers if a.kind == "abx"]
    return {family: binomial_summary(sum(a.correct for a in group), len(group))
            for family, group in _by_family(abx).items()} if abx else {}


def preference_statistics(answers: Iterable[Answer]) -> dict[str, dict[str, dict]]:
    """Per pair ``"sing_vs_resample"`` (order of :data:`SYSTEMS`), per family (and
    ``"all"``): :func:`binomial_summary` of the answers that preferred the pair's first
    system."""
    out: dict[str, dict[str, dict]] = {}
    pairs: dict[tuple[str, str], list[Answer]] = {}
    for answer in answers:
        if answer.kind == "preference":
            pairs.setdefault(answer.pair, []).append(answer)
    for pair in sorted(pairs, key=lambda p: (SYSTEMS.index(p[0]), SYSTEMS.index(p[1]))):
        first = pair[0]
        out[f"{pair[0]}_vs_{pair[1]}"] = {
            family: binomial_summary(sum(a.chosen == first for a in group), len(group))
            for family, group in _by_family(pairs[pair]).items()
        }
    return out


def listening_statistics(answers: Sequence[Answer]) -> dict[str, Any]:
    """Everything :func:`write_report` writes: ABX, preferences, listener and answer counts."""
    return {
        "answers": len(answers),
        "listeners": len({a.listener for a in answers}),
        "confidence": CONFIDENCE,
        "abx": abx_statistics(answers),
        "preference": preference_statistics(answers),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def _rows(stats: dict[str, dict], what: str) -> list[str]:
    lines = [f"| family | answers | {what} | rate | 95% interval | p (vs 50%) |",
             "| --- | ---: | ---: | ---: | --- | ---: |"]
    for family, s in stats.items():
        ci = "-" if s["ci_low"] is None else f"{_pct(s['ci_low'])} - {_pct(s['ci_high'])}"
        lines.append(f"| {family} | {s['n']} | {s['k']} | {_pct(s['rate'])} | {ci} | "
                     f"{_p(s['p_value'])} |")
    return lines


def markdown_report(stats: dict[str, Any]) -> str:
    """The statistics as Markdown tables."""
    lines = ["# Listening test", "",
             f"{stats['answers']} answers from {stats['listeners']} listeners. Rates with exact "
             "two-sided binomial p-values against chance (50%) and exact (Clopper-Pearson) "
             f"{round(100 * stats['confidence'])}% intervals.", ""]
    lines += ["## ABX: is X the recording or SING?", ""]
    if stats["abx"]:
        lines += ["Correct answers: near 50% means the listeners could not tell SING from the "
                  "recording.", "", *_rows(stats["abx"], "correct"), ""]
    else:
        lines += ["No ABX answers.", ""]
    lines += ["## Preference", ""]
    if not stats["preference"]:
        lines += ["No preference answers.", ""]
    for pair, by_family in stats["preference"].items():
        first, second = pair.split("_vs_")
        lines += [f"### {first} vs {second}", "", f"Answers preferring {first}.", "",
                  *_rows(by_family, f"preferred {first}"), ""]
    return "\n".join(lines)


def write_report(answers_csv: str | Path, out: str | Path | None = None) -> tuple[Path, Path,
                                                                                    str]:
    """Read ``answers_csv`` and write ``OUT.json`` and ``OUT.md`` (default ``OUT``: the CSV's
    path without ``.csv`` plus ``.report``), each atomically.

    Returns (JSON path, Markdown path, the Markdown). An empty file raises :class:`SingError`.
    """
    from sing.utils.atomic import atomic_write_text

    answers_csv = Path(answers_csv)
    answers = read_answers(answers_csv)
    if not answers:
        raise SingError("no answers yet", answers_csv)
    stats = listening_statistics(answers)
    stats["source"] = answers_csv.name
    base = Path(out) if out is not None else answers_csv.with_suffix("")
    if out is None:
        base = base.with_name(base.name + ".report")
    json_path = base.with_name(base.name + ".json")
    md_path = base.with_name(base.name + ".md")
    text = markdown_report(stats)
    atomic_write_text(json_path, json.dumps(_finite(stats), indent=2) + "\n")
    atomic_write_text(md_path, text + "\n")
    return json_path, md_path, text


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value
