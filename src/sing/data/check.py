"""``sing dataset check``: every problem of a jsonwav folder, listed at once."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sing.errors import SingError

logger = logging.getLogger(__name__)


@dataclass
class CheckReport:
    """The outcome of :func:`check_dataset`: problems (one line each) and counts."""

    root: Path
    problems: list[str] = field(default_factory=list)
    notes: int = 0
    instruments: int = 0
    note_length: int | None = None
    sample_rate: int | None = None
    split: dict[str, int] | None = None
    cache: str = "none"

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def summary(self) -> str:
        """One line describing a clean folder."""
        split = (
            ", split " + " / ".join(f"{k} {v}" for k, v in self.split.items())
            if self.split else ", no split"
        )
        seconds = (self.note_length or 0) / (self.sample_rate or 1)
        return (
            f"{self.root}: OK: {self.notes} notes of {self.instruments} instruments, "
            f"{seconds:g} s at {self.sample_rate} Hz{split}, cache {self.cache}"
        )


def check_dataset(root: str | Path, progress: bool = True) -> CheckReport:
    """Check a jsonwav folder: ``examples.json`` schema, every WAV (present, readable, mono
    16-bit PCM, the note's sample rate, one common length), stray WAVs, the split file and the
    cache. Returns a :class:`CheckReport` listing every problem found."""
    from sing.data import cache as cache_mod
    from sing.data.schema import load_examples
    from sing.data.split import SPLIT_FILE, load_split, split_problems
    from sing.data.wav import read_wav
    from sing.utils.progress import progress_bar

    root = Path(root)
    report = CheckReport(root)
    if not root.is_dir():
        report.problems.append(f"{root}: {'not a folder' if root.exists() else 'no such folder'}")
        return report
    if not any(root.iterdir()):
        report.problems.append(f"{root}: empty folder (expected examples.json and audio/)")
        return report
    try:
        examples, problems = load_examples(root / "examples.json", all_problems=True)
    except SingError as err:
        report.problems.append(str(err))
        return report
    report.problems.extend(problems)
    report.notes = len(examples)
    report.instruments = len(
        {m.get("instrument_str") for m in examples.values() if isinstance(m, dict)}
    )
    audio = root / "audio"
    if not audio.is_dir():
        report.problems.append(f"{audio}: missing audio folder")
        return report
    lengths: Counter[int] = Counter()
    length_of: dict[str, int] = {}
    for name in progress_bar(sorted(examples), unit="note", desc="checking", disable=not progress):
        meta = examples[name]
        rate = meta.get("sample_rate") if isinstance(meta, dict) else None
        try:
            wav = read_wav(audio / f"{name}.wav", rate if isinstance(rate, int) else None)
        except SingError as err:
            report.problems.append(str(err))
            continue
        lengths[len(wav)] += 1
        length_of[name] = len(wav)
        report.sample_rate = rate
    if lengths:
        common = lengths.most_common(1)[0][0]
        report.note_length = common
        for name, n in length_of.items():
            if n != common:
                report.problems.append(
                    f"{audio / (name + '.wav')}: has {n} samples, expected {common} "
                    "like the other notes"
                )
    stray = sorted(p.name for p in audio.glob("*.wav") if p.stem not in examples)
    for name in stray[:20]:
        report.problems.append(f"{audio / name}: audio file with no entry in examples.json")
    if len(stray) > 20:
        report.problems.append(f"{audio}: ... and {len(stray) - 20} more stray audio files")
    if (root / SPLIT_FILE).exists():
        try:
            splits = load_split(root)
            report.split = {k: len(v) for k, v in splits.items()}
            report.problems.extend(split_problems(splits, examples, root / SPLIT_FILE))
            placed = {n for names in splits.values() for n in names if n in examples}
            missing = len(examples) - len(placed)
            if missing:
                report.problems.append(
                    f"{root / SPLIT_FILE}: {missing} note(s) of examples.json are in no split"
                )
        except SingError as err:
            report.problems.append(str(err))
    if (root / cache_mod.CACHE_DIR).exists():
        index = cache_mod.read_index(root)
        if index is None:
            report.problems.append(f"{root / cache_mod.CACHE_DIR}: unreadable cache index")
            report.cache = "unreadable"
        elif cache_mod.fresh_cache(root, sorted(examples)) is None:
            report.problems.append(
                f"{root / cache_mod.CACHE_DIR}: stale or damaged; rebuild it with "
                f"`sing dataset cache {root}`"
            )
            report.cache = "stale"
        else:
            report.cache = "fresh"
    report.problems.extend(_leftovers(root))
    return report


def _leftovers(root: Path) -> list[str]:
    """Temporaries that killed sing processes left in ``root`` (an interrupted cache, split...)
    or beside it (an interrupted build of ``root``): a full disk's usual cause."""
    from sing.utils.atomic import stale_temporaries
    from sing.utils.diskspace import human_bytes

    lines = []
    for entry in stale_temporaries(root) + stale_temporaries(root.parent, root.name):
        files = [entry] if not entry.is_dir() else [p for p in entry.rglob("*") if p.is_file()]
        size = sum(p.lstat().st_size for p in files)
        lines.append(f"{entry}: left by an interrupted sing process ({human_bytes(size)}); "
                     "rerunning that command removes it, or delete it")
    return lines
