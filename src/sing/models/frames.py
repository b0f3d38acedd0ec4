"""Frames <-> samples: the length arithmetic of SING, in one place.

One frame = ``stride`` samples (256, i.e. 62.5 frames per second at 16 kHz). With the paper's
sizes (stride s = 256, window w = 1024, decoder context k = 9), following the reference code::

    note                          64,000 samples (T)
    pad_note: 2,304 zeros each side  ->  68,608 samples            (pad = s*(k-1)/2 + w - s + w/2)
    encoder  Conv1d(k=w, stride=s)   ->  (68,608 - 1,024)/256 + 1 = 265 frames  = num_frames(T)
    sequence generator               ->  265 LSTM steps, one frame each
    decoder  Conv1d(k=9)             ->  257 frames
             ConvTranspose1d(k=w, stride=s, padding=w-s)
                                     ->  (257 - 1)*256 - 2*768 + 1,024 = 65,024 samples
                                         = (L - 9)*256 - 512 for L frames    = decoded_length(L)
    decoder sample t  <->  padded-note sample t + 1,792                   (cut = s*(k-1)/2 + w - s)
    reference target: padded note[1,792 : -1,792]  = 65,024 samples       = loss_target(wav)
                      = the note with 512 zeros (w/2) on each side
    strip: decoded[512 : -512]        ->  64,000 samples, aligned with the note

So ``strip(decode(frames(pad_note(wav))))`` is aligned sample by sample with ``wav``.
:class:`~sing.models.sing.SING` and :class:`~sing.models.autoencoder.Autoencoder` return the
stripped T-sample note; ``strip=False`` gives the reference's 65,024 samples to compare with
:func:`loss_target`.

A note length that is not a multiple of the stride gets extra zeros at its end only
(``pad_note``), and ``strip`` cuts them away again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # torch is imported where a tensor is padded: the length arithmetic (and
    import torch  # SingConfig, the NumPy generation path) runs without it


class Geometry(Protocol):
    """What the length arithmetic needs of a model config (``SingConfig`` has all three)."""

    stride: int
    window: int
    context_size: int


#: ``config`` arguments below take a :class:`~sing.models.config.SingConfig` (or anything with
#: its ``stride``, ``window`` and ``context_size``), or ``None`` for the paper's 256 / 1024 / 9.


def _geometry(config: Geometry | None) -> tuple[int, int, int]:
    if config is None:
        return 256, 1024, 9
    return config.stride, config.window, config.context_size


def cut(config: Geometry | None = None) -> int:
    """Offset of decoder sample 0 in the padded note: 1,792 for the paper."""
    s, w, k = _geometry(config)
    return s * (k - 1) // 2 + w - s


def margin(config: Geometry | None = None) -> int:
    """Samples of padding kept on each side of the decoder's output: 512 (= window/2)."""
    _, w, _ = _geometry(config)
    return w // 2


def pad(config: Geometry | None = None) -> int:
    """Zeros added on each side of a note before encoding: 2,304 for the paper."""
    return cut(config) + margin(config)


def _tail(note_length: int, config: Geometry | None) -> int:
    s, _, _ = _geometry(config)
    return (-note_length) % s


def num_frames(note_length: int, config: Geometry | None = None) -> int:
    """Frames (LSTM steps) for a note of ``note_length`` samples: 265 for 64,000."""
    s, w, _ = _geometry(config)
    padded = note_length + _tail(note_length, config) + 2 * pad(config)
    return (padded - w) // s + 1


def decoded_length(frames: int, config: Geometry | None = None) -> int:
    """Samples the decoder returns for ``frames`` frames: (L - 9)*256 - 512 for the paper."""
    s, w, k = _geometry(config)
    return (frames - k + 2) * s - w


def padded_length(note_length: int, config: Geometry | None = None) -> int:
    """Length of :func:`pad_note`'s output: 68,608 for a 64,000-sample note."""
    return note_length + _tail(note_length, config) + 2 * pad(config)


def pad_note(wav: torch.Tensor, config: Geometry | None = None) -> torch.Tensor:
    """Pad a note with zeros for the encoder.

    Args:
        wav: Tensor[B, T] (or [T]).
    Returns:
        Tensor[B, T + 2*pad (+ tail)]: 2,304 zeros each side for the paper (68,608 samples).
    """
    import torch.nn.functional as F

    p = pad(config)
    return F.pad(wav, (p, p + _tail(wav.shape[-1], config)))


def loss_target(wav: torch.Tensor, config: Geometry | None = None) -> torch.Tensor:
    """The reference code's target: the padded note with ``cut`` samples cut from each end.

    Args:
        wav: Tensor[B, T].
    Returns:
        Tensor[B, decoded_length(num_frames(T))]: 65,024 samples for the paper, i.e. the note
        with 512 zeros on each side, aligned with an unstripped decoder output.
    """
    import torch.nn.functional as F

    m = margin(config)
    return F.pad(wav, (m, m + _tail(wav.shape[-1], config)))


def strip(
    decoded: torch.Tensor, note_length: int, config: Geometry | None = None
) -> torch.Tensor:
    """Cut a decoder output back to the note.

    Args:
        decoded: Tensor[B, decoded_length(L)] (65,024 samples for the paper).
        note_length: T, the note length to return.
    Returns:
        Tensor[B, T]: ``decoded[..., 512 : 512 + T]``, aligned with the original note.
    """
    m = margin(config)
    return decoded[..., m : m + note_length]


def decoder_positions(
    frames: int, note_length: int | None, config: Geometry | None = None
) -> tuple[int, int, int]:
    """Decoder positions that write the samples kept, for a GEMM-form decoder.

    Position j (after the context conv, ``frames - k + 1`` positions) writes full-output
    samples ``[j*s, j*s + w)``; the transposed conv keeps ``[w - s, full - (w - s))`` and, with
    ``note_length``, :func:`strip` keeps ``note_length`` samples from ``margin`` on. For the
    paper (265 frames, 64,000 samples): positions 2..254 of 257, the first kept sample at 768
    of their overlap-add.

    Args:
        frames: L, frames fed to the decoder.
        note_length: T for a stripped note, or None for the whole ``decoded_length(L)``.
    Returns:
        ``(first, last + 1, offset)``: the positions needed and the index of the first kept
        sample in the overlap-add of those positions.
    """
    s, w, k = _geometry(config)
    padding = w - s
    positions = frames - k + 1
    if note_length is not None:
        start = padding + margin(config)
        stop = start + note_length
    else:
        start, stop = padding, padding + decoded_length(frames, config)
    first = max(0, (start - w) // s + 1)  # first j with j*s + w > start
    end = min(positions, (stop - 1) // s + 1)  # last j with j*s < stop, + 1
    return first, end, start - first * s


def position_mask(ranges: list[list[tuple[int, int]]], config: Geometry, num_frames: int,
                  note_length: int):
    """The decoder positions each note needs for the samples it will use, in GEMM form.

    Args:
        ranges: per note, sample ranges ``[a, b)`` of the stripped note (``note_length``
            samples).
        num_frames: L, the frames fed to the decoder.
    Returns:
        bool ndarray[B, P] over the positions :func:`decoder_positions` keeps (P = their
        number): samples inside the ranges come out exactly as without a mask, the others are
        partial sums (not to be used).
    """
    import numpy as np

    first, end, offset = decoder_positions(num_frames, note_length, config)
    n, s, w = end - first, config.stride, config.window
    mask = np.zeros((len(ranges), n), dtype=bool)
    for i, note in enumerate(ranges):
        for a, b in note:
            lo = max(0, -(-(offset + a - w + 1) // s))  # first position ending after a
            hi = min(n, -(-(offset + b) // s))  # last position starting before b, + 1
            if hi > lo:
                mask[i, lo:hi] = True
    return mask
