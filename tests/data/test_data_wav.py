"""WAV writer and reader against independent implementations (scipy, libsndfile)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile as sf

from sing.data.wav import read_wav, wav_bytes, write_wav
from sing.errors import SingError

RNG = np.random.default_rng(0)
PCM = RNG.integers(-32768, 32767, size=1000, endpoint=True).astype(np.int16)


def test_writer_round_trip_with_scipy(tmp_path: Path):
    write_wav(tmp_path / "a.wav", PCM, 16000)
    rate, data = scipy.io.wavfile.read(tmp_path / "a.wav")
    assert rate == 16000 and data.dtype == np.int16 and np.array_equal(data, PCM)
    buf = io.BytesIO()
    scipy.io.wavfile.write(buf, 16000, PCM)
    assert wav_bytes(PCM, 16000) == buf.getvalue()  # byte-identical to scipy's canonical WAV
    assert np.array_equal(read_wav(tmp_path / "a.wav", 16000, 1000), PCM)


def test_general_layouts_go_through_libsndfile(tmp_path: Path):
    # WAVE_FORMAT_EXTENSIBLE header
    sf.write(tmp_path / "x.wav", PCM, 16000, format="WAVEX", subtype="PCM_16")
    assert np.array_equal(read_wav(tmp_path / "x.wav", 16000, 1000), PCM)
    # an extra LIST chunk between fmt and data
    raw = wav_bytes(PCM, 16000)
    info = b"LIST" + struct.pack("<I", 4) + b"INFO"
    extra = raw[:4] + struct.pack("<I", len(raw) - 8 + len(info)) + raw[8:36] + info + raw[36:]
    (tmp_path / "l.wav").write_bytes(extra)
    assert np.array_equal(read_wav(tmp_path / "l.wav", 16000, 1000), PCM)
    # float WAV: refused with what it is
    sf.write(tmp_path / "f.wav", PCM / 32768, 16000, subtype="FLOAT")
    with pytest.raises(SingError, match="f.wav: is FLOAT, expected 16-bit PCM"):
        read_wav(tmp_path / "f.wav", 16000)
    # FLAC named .wav
    sf.write(tmp_path / "c.wav", PCM, 16000, format="FLAC")
    with pytest.raises(SingError, match="c.wav: is a FLAC file, expected WAV"):
        read_wav(tmp_path / "c.wav")
