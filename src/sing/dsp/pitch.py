"""MIDI pitch <-> frequency (equal temperament, A4 = MIDI 69 = 440 Hz)."""

from __future__ import annotations


def midi_to_hz(pitch: float) -> float:
    """Frequency (Hz) of a MIDI pitch (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)
