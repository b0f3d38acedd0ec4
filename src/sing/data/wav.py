"""16-bit PCM WAV files: a byte-exact writer (every WAV ``sing`` writes) and a checking reader."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from sing.errors import SingError, describe_os_error
from sing.utils.atomic import atomic_write_bytes


def to_pcm16(samples: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """``samples`` as int16: int16 as is; floats (full scale 1) times ``gain`` scaled by 32767,
    rounded (in float64) and clipped at +-32767. The one float -> PCM conversion of ``sing``."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16 and gain == 1.0:
        return samples
    scaled = np.round(np.asarray(samples, dtype=np.float64) * (gain * 32767))
    return np.clip(scaled, -32767, 32767).astype(np.int16)


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """A canonical 44-byte-header mono 16-bit PCM WAV of ``samples``: int16[T], or floats in
    [-1, 1] (:func:`to_pcm16`)."""
    data = np.ascontiguousarray(to_pcm16(samples), dtype="<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1,
        sample_rate, sample_rate * 2, 2, 16, b"data", len(data),
    )
    return header + data


def write_wav(
    path: str | Path, samples: np.ndarray, sample_rate: int, atomic: bool = False
) -> None:
    """Write ``samples`` (int16[T], or floats in [-1, 1]) as a mono 16-bit WAV (atomically if
    asked: nothing half-written); the one WAV writer of ``sing``."""
    payload = wav_bytes(samples, sample_rate)
    if atomic:
        atomic_write_bytes(path, payload)
    else:
        Path(path).write_bytes(payload)


_CANONICAL = struct.Struct("<4sI4s4sIHHIIHH4sI")


def _read_canonical(path: Path) -> tuple[int, np.ndarray] | None:
    """Fast path for the common case, a complete 44-byte-header mono 16-bit PCM WAV (what
    NSynth and ``sing dataset build`` write): ``(sample_rate, int16[T])``, or None to let
    the general reader decide (other layouts, truncated or broken files)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    if len(raw) < 44:
        return None
    riff, _, wave, fmt, fmt_size, fmt_tag, channels, rate, _, align, bits, data, size = (
        _CANONICAL.unpack_from(raw)
    )
    if (riff, wave, fmt, data) != (b"RIFF", b"WAVE", b"fmt ", b"data") or (
        fmt_size, fmt_tag, channels, align, bits) != (16, 1, 1, 2, 16):
        return None
    if size % 2 or len(raw) < 44 + size:
        return None
    return rate, np.frombuffer(raw, dtype="<i2", count=size // 2, offset=44).astype(np.int16)


def declared_data_bytes(path: Path) -> int | None:
    """Size of the ``data`` chunk that a RIFF/WAVE header declares (None if not found)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            for _ in range(64):
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                tag, size = struct.unpack("<4sI", chunk)
                if tag == b"data":
                    return size
                f.seek(size + (size & 1), 1)
    except OSError:
        return None
    return None


def read_wav(
    path: str | Path, sample_rate: int | None = None, length: int | None = None
) -> np.ndarray:
    """Read a mono 16-bit WAV as ``int16[T]``, checking its format.

    Raises :class:`SingError` naming ``path`` if the file is missing, not a WAV, truncated,
    not mono 16-bit PCM, or has another sample rate / length than asked.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():  # before any open: a FIFO would block it
        raise SingError("audio file is missing" if not path.exists() else "not a file", path)
    fast = _read_canonical(path)
    if fast is not None:
        rate, data = fast
        if sample_rate is not None and rate != sample_rate:
            raise SingError(f"has sample rate {rate} Hz, expected {sample_rate} Hz", path)
        if length is not None and len(data) != length:
            raise SingError(f"has {len(data)} samples, expected {length}", path)
        return data
    try:
        with sf.SoundFile(path) as f:
            if f.format not in ("WAV", "WAVEX"):
                raise SingError(f"is a {f.format} file, expected WAV", path)
            if f.channels != 1:
                raise SingError(f"has {f.channels} channels, expected 1 (mono)", path)
            if sample_rate is not None and f.samplerate != sample_rate:
                raise SingError(
                    f"has sample rate {f.samplerate} Hz, expected {sample_rate} Hz", path
                )
            if f.subtype != "PCM_16":
                raise SingError(f"is {f.subtype}, expected 16-bit PCM", path)
            frames = f.frames
            data = f.read(dtype="int16")
    except SingError:
        raise
    except FileNotFoundError:
        raise SingError("audio file is missing", path) from None
    except sf.LibsndfileError as err:
        raise SingError(f"not a readable WAV file ({err.error_string})", path) from None
    except OSError as err:
        raise SingError(describe_os_error(err, path)) from None
    except RuntimeError as err:  # older soundfile versions
        raise SingError(f"not a readable WAV file ({err})", path) from None
    declared = declared_data_bytes(path)
    if declared is not None and declared // 2 > len(data):
        raise SingError(f"is truncated: {len(data)} of {declared // 2} samples", path)
    if len(data) != frames:
        raise SingError(f"is truncated: {len(data)} of {frames} samples", path)
    if length is not None and len(data) != length:
        raise SingError(f"has {len(data)} samples, expected {length}", path)
    return data
