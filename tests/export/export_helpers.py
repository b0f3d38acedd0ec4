"""Helpers of the export tests: FluidSynth runs, MIDI files, chroma agreement."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from sing.midi.writer import Part, write_midi

RATE = 16000
#: FluidSynth's output delay (samples) at 16 kHz: the start of a note in its render.
FLUID_LATENCY = 64


def fluidsynth(bank: Path, midi: Path, wav: Path, *options: str) -> subprocess.CompletedProcess:
    """``fluidsynth -ni [options] -F wav -r 16000 bank midi`` (skipped without FluidSynth)."""
    if shutil.which("fluidsynth") is None:
        pytest.skip("fluidsynth is not installed")
    return subprocess.run(["fluidsynth", "-ni", *options, "-F", str(wav), "-r", str(RATE),
                           str(bank), str(midi)], capture_output=True, text=True, timeout=120)


def render_dry(bank: Path, midi: Path, wav: Path) -> np.ndarray:
    """FluidSynth's render without reverb or chorus, gain 1, mono (left channel: the voices
    are centred), float64, its start delay removed."""
    import soundfile as sf

    run = fluidsynth(bank, midi, wav, "-R", "0", "-C", "0", "-g", "1")
    assert run.returncode == 0, run.stderr
    audio, rate = sf.read(wav)
    assert rate == RATE
    return audio[FLUID_LATENCY:, 0]


def one_part_midi(path: Path, program: int, notes: Sequence[tuple[float, float, int, int]],
                  bpm: float = 60.0) -> Path:
    """A MIDI file of one part: notes are (start beat, beats, pitch, velocity)."""
    part = Part("test", 0, program)
    part.notes = list(notes)
    return write_midi(path, [part], bpm)


def chroma_agreement(a: np.ndarray, b: np.ndarray, rate: int = RATE) -> float:
    """Mean cosine between the frames of librosa's ``chroma_cqt`` of two signals (the same
    tuning, 32 ms hop)."""
    import librosa

    n = min(len(a), len(b))
    ca = librosa.feature.chroma_cqt(y=a[:n].astype(np.float32), sr=rate, hop_length=512,
                                    tuning=0.0)
    cb = librosa.feature.chroma_cqt(y=b[:n].astype(np.float32), sr=rate, hop_length=512,
                                    tuning=0.0)
    cos = np.sum(ca * cb, 0) / (np.linalg.norm(ca, axis=0) * np.linalg.norm(cb, axis=0) + 1e-12)
    return float(cos.mean())


def rms_db(x: np.ndarray) -> float:
    """RMS level in dB (re 1.0)."""
    return float(20 * np.log10(max(np.sqrt(np.mean(np.square(x, dtype=np.float64))), 1e-12)))
