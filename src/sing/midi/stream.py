"""A rendered mix written in blocks: memory bounded by the notes sounding at once, not by the
length of the piece.

:func:`write_mix` is what ``sing render`` (:func:`sing.midi.render.render_file`) writes with:

1. **mix** (:func:`mix_blocks`): the score's notes, in order of start, each fitted to its
   length (:func:`sing.midi.envelope.fit_note`) and added into a buffer that holds only the
   samples still open to later notes; everything before the next note's start is final and
   leaves the buffer. The sums are the same, sample for sample, as
   :func:`sing.midi.render.mix_plan`'s.
2. **resample** (soxr's streaming resampler, high quality) when another rate is asked for;
   the blocks go to an unnamed float32 temporary file beside the output while their peak is
   tracked;
3. **scale and write**: read back in blocks, scaled to the -1 dBFS peak, written as 16-bit PCM
   into the output's atomic temporary (renamed into place when complete).

A piece longer than a 16-bit WAV can hold (4 GiB of data) is refused before anything is
generated (:func:`check_wav_length`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sing.errors import SingError, describe_os_error
from sing.midi.envelope import fit_note

if TYPE_CHECKING:
    import torch

#: Peak of a written mix: -1 dBFS (as a fraction of full scale).
MIX_PEAK = 10 ** (-1 / 20)
#: Samples per block read back and written.
BLOCK = 1 << 16
#: The most samples a mono 16-bit WAV holds (its data chunk's size is 32 bits).
WAV_MAX_SAMPLES = (2**32 - 1 - 44) // 2


def length_bound(plan, note_length: int) -> int:
    """An upper bound of the mix's length in samples at ``plan.sample_rate`` (a fitted note is
    at most its duration + the generated note's length long)."""
    rate = plan.sample_rate
    ends = (int(round(n.start * rate)) + int(round(n.duration * rate)) + note_length
            for n in plan.score.notes)
    return max(max(ends, default=0), int(round(plan.score.length * rate)))


def check_wav_length(plan, note_length: int, out_rate: int, path: Path) -> None:
    """Refuse, before any generation, a piece a 16-bit WAV cannot hold."""
    samples = length_bound(plan, note_length) * out_rate / plan.sample_rate
    if samples > WAV_MAX_SAMPLES:
        hours = WAV_MAX_SAMPLES / out_rate / 3600
        raise SingError(f"the rendered piece would be {samples / out_rate / 3600:.1f} h long: "
                        f"more than a 16-bit WAV holds at {out_rate} Hz ({hours:.1f} h)", path)


def mix_blocks(plan, waves: torch.Tensor | np.ndarray) -> Iterator[np.ndarray]:
    """The mix (float32, not normalised), in blocks, at ``plan.sample_rate`` (``waves``: the
    generated keys, a CPU Tensor or an ndarray [K, T])."""
    rate = plan.sample_rate
    notes = np.asarray(waves)
    acc = np.zeros(0, dtype=np.float32)  # samples [base, base + len(acc)) still open
    base = end = 0
    order = sorted(range(len(plan.score.notes)), key=lambda i: plan.score.notes[i].start)
    for i in order:
        note, k = plan.score.notes[i], plan.note_keys[i]
        start = int(round(note.start * rate))
        if start > base:  # nothing later starts before ``start``: those samples are final
            done = min(start - base, len(acc))
            if done:
                yield acc[:done].copy()
                acc = acc[done:]
            if start - base > done:  # a gap with no note sounding
                yield np.zeros(start - base - done, dtype=np.float32)
            base = start
        wav = fit_note(notes[k], int(round(note.duration * rate)), plan.hold, rate,
                       pitch=plan.keys[k][1])
        need = start - base + len(wav)
        if need > len(acc):
            acc = np.concatenate([acc, np.zeros(need - len(acc), dtype=np.float32)])
        acc[start - base : start - base + len(wav)] += wav
        end = max(end, start + len(wav))
    end = max(end, int(round(plan.score.length * rate)))
    if end > base:
        tail = acc[: end - base]
        yield np.concatenate([tail, np.zeros(end - base - len(tail), np.float32)])


def write_mix(path: Path, plan, waves: torch.Tensor | np.ndarray, sample_rate: int | None = None,
              peak: float | None = None) -> int:
    """Mix, resample (soxr) to ``sample_rate`` if given, scale to ``peak`` (default
    :data:`MIX_PEAK`) and write a 16-bit WAV atomically, in blocks.

    Returns:
        the sample rate written.
    """
    import soundfile as sf
    import soxr

    from sing.data.wav import to_pcm16
    from sing.utils.atomic import atomic_write

    peak = MIX_PEAK if peak is None else peak
    rate = plan.sample_rate
    out_rate = int(sample_rate or rate)
    resampler = soxr.ResampleStream(rate, out_rate, 1, dtype="float32", quality="HQ") \
        if out_rate != rate else None
    try:
        scratch = tempfile.TemporaryFile(dir=path.parent, prefix=f".tmp-{path.name}.mix.")
    except OSError as err:
        raise SingError(describe_os_error(err, path)) from None
    with scratch:
        top, count = 0.0, 0

        def keep(x: np.ndarray) -> None:
            nonlocal top, count
            if len(x):
                top = max(top, float(np.abs(x).max()))
                count += len(x)
                scratch.write(np.ascontiguousarray(x, dtype=np.float32).tobytes())

        try:
            for block in mix_blocks(plan, waves):
                keep(block if resampler is None else resampler.resample_chunk(block))
            if resampler is not None:
                keep(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
            scratch.flush()
        except OSError as err:
            raise SingError(describe_os_error(err, path)) from None
        scale = np.float32(peak / top) if top > 0 else None
        scratch.seek(0)
        with atomic_write(path) as f, sf.SoundFile(f, mode="w", samplerate=out_rate,
                                                   channels=1, subtype="PCM_16",
                                                   format="WAV") as wav:
            for _ in range(0, count, BLOCK):
                block = np.frombuffer(scratch.read(4 * BLOCK), dtype=np.float32)
                if scale is not None:
                    block = block * scale
                wav.write(to_pcm16(block))
    return out_rate
