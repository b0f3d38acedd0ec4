"""The music benchmark's measures on synthetic renditions whose answers are known."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from sing.dsp.modulation import harmonic_clean_bins
from sing.evaluation import music

SR = 16000


@dataclass(frozen=True)
class N:
    start: float
    end: float
    pitch: int
    velocity: int = 80


def synth(notes, length: float, harmonics: int = 4, am: float = 0.0) -> np.ndarray:
    """Each note as decaying harmonics from its start to its end (a 20 ms fade out)."""
    t = np.arange(int(length * SR)) / SR
    out = np.zeros_like(t)
    for n in notes:
        f0 = 440.0 * 2 ** ((n.pitch - 69) / 12)
        on = (t >= n.start) & (t < n.end)
        local = t[on] - n.start
        env = np.exp(-1.5 * local) * np.clip((n.end - t[on]) / 0.02, 0, 1)
        env *= 1 + am * np.cos(2 * np.pi * SR / 256 * t[on])
        for h in range(1, harmonics + 1):
            if h * f0 < SR / 2:
                out[on] += env * np.sin(2 * np.pi * h * f0 * local) / h
    return 0.3 * out / max(1e-9, np.abs(out).max())


MELODY = [N(0.5 * i, 0.5 * i + 0.45, p) for i, p in enumerate((60, 64, 67, 72, 67, 64, 60, 62))]
CHORDS = [N(1.0 * i, 1.0 * i + 0.95, p + d) for i, p in enumerate((48, 53, 55, 48))
          for d in (0, 4, 7)]


def test_score_chroma_counts_the_sounding_notes():
    times = np.array([0.0, 0.2, 0.5, 1.2, 4.5])
    chroma = music.score_chroma(CHORDS, times)
    assert chroma[:, 0].tolist() == [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]  # C E G
    assert chroma[:, 3].tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]  # F A C
    assert not chroma[:, 4].any()


def test_chroma_agreement_is_high_for_the_right_notes_and_low_for_wrong_ones():
    for notes in (MELODY, CHORDS):
        wav = synth(notes, 4.5)
        right = music.chroma_agreement(wav, SR, notes)
        wrong = music.chroma_agreement(wav, SR, [N(n.start, n.end, n.pitch + 6) for n in notes])
        assert right > 0.8
        assert wrong < 0.45
    assert music.chroma_agreement(np.zeros(SR * 2), SR, MELODY) == 0.0
    assert math.isnan(music.chroma_agreement(synth(MELODY, 4.5), SR, []))


def test_chroma_agreement_by_hand_for_a_pure_tone():
    """A 440 Hz sine: CQT chroma all but one-hot on A, so the cosine with an A is ~1 and with
    an A + E dyad ~1/sqrt(2)."""
    t = np.arange(2 * SR) / SR
    wav = 0.5 * np.sin(2 * np.pi * 440 * t)
    assert music.chroma_agreement(wav, SR, [N(0.2, 1.8, 69)]) > 0.97
    dyad = music.chroma_agreement(wav, SR, [N(0.2, 1.8, 69), N(0.2, 1.8, 76)])
    assert dyad == pytest.approx(1 / math.sqrt(2), abs=0.03)


def _reference_log_mel(a, b, n_fft):
    """The same distance by hand: numpy STFT (centred, reflect-padded, periodic Hann) and
    librosa's mel matrix."""
    import librosa

    fb = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=music.MEL_BANDS)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)

    def mel(x):
        x = np.pad(x, n_fft // 2, mode="constant")
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[:: n_fft // 4]
        return fb @ (np.abs(np.fft.rfft(frames * w, axis=-1)) ** 2).T

    ma, mb = mel(a), mel(b)
    eps = max(ma.max(), mb.max()) * 1e-6
    return np.mean(np.abs(np.log(eps + ma) - np.log(eps + mb)))


def test_log_mel_distance_against_a_float64_reference():
    a = synth(MELODY, 4.0)
    b = synth(CHORDS, 4.0)
    na = a / np.sqrt(np.mean(a**2))
    nb = b / np.sqrt(np.mean(b**2))
    expected = np.mean([_reference_log_mel(na, nb, n) for n in music.MEL_WINDOWS])
    assert music.log_mel_distance(a, b, SR) == pytest.approx(expected, rel=1e-3)
    assert expected > 1.0


def test_log_mel_distance_is_zero_for_the_same_audio_and_symmetric():
    a = synth(MELODY, 4.0)
    b = synth(MELODY, 4.0, harmonics=1)
    assert music.log_mel_distance(a, 0.1 * a, SR) == pytest.approx(0.0, abs=1e-9)
    assert music.log_mel_distance(a, b, SR) == pytest.approx(music.log_mel_distance(b, a, SR))
    assert 0 < music.log_mel_distance(a, b, SR) < music.log_mel_distance(a, synth(CHORDS, 4), SR)
    # padding: a shorter copy is the same audio followed by silence
    assert music.log_mel_distance(a, a[: len(a) // 2], SR) > 1.0
    assert math.isnan(music.log_mel_distance(a, np.zeros_like(a), SR))


def test_onset_matching_counts_one_to_one_pairs():
    ref = np.array([0.0, 0.5, 1.0, 1.5])
    assert music.match_onsets(ref, ref + 0.04) == 4
    assert music.match_onsets(ref, ref + 0.06) == 0
    assert music.match_onsets(ref, [0.01, 0.02, 0.03]) == 1  # one estimate per reference
    assert music.match_onsets([0.0, 0.09], [0.045]) == 1
    assert music.match_onsets([0.0, 0.06], [0.05, 0.01]) == 2  # greedy in time order
    chord = [N(1.0, 2.0, 60), N(1.02, 2.0, 64), N(1.2, 2.0, 67)]
    assert music.score_onsets(chord).tolist() == [1.0, 1.2]


def test_onset_f1_of_a_rendition_and_of_silence():
    wav = synth(MELODY, 4.5)
    assert music.onset_f1(wav, SR, MELODY) > 0.85
    late = [N(n.start + 0.25, n.end, n.pitch) for n in MELODY]
    assert music.onset_f1(wav, SR, late) < 0.2
    assert music.onset_f1(np.zeros(SR), SR, MELODY) == 0.0


def test_steady_segments_of_a_score():
    notes = [N(0.0, 1.0, 60), N(0.5, 2.0, 64), N(3.0, 3.1, 67)]
    segments = music.steady_segments(notes)
    expected = [(0.08, 0.48), (0.58, 0.98), (1.08, 1.98)]
    assert len(segments) == len(expected)
    for got, want in zip(segments, expected, strict=True):
        assert got == pytest.approx(want)


def test_piece_buzz_reads_the_modulation_on_the_steady_parts():
    notes = [N(0.0, 1.2, 69), N(1.2, 2.4, 72)]
    clean = music.piece_buzz_db(synth(notes, 2.5), SR, notes, SR / 256)
    buzzy = music.piece_buzz_db(synth(notes, 2.5, am=0.1), SR, notes, SR / 256)
    assert clean < -30
    assert buzzy > clean + 15
    assert math.isnan(music.piece_buzz_db(synth(notes, 2.5), SR, [N(0, 0.1, 60)], SR / 256))


def test_clean_bins_leave_out_partial_pairs_that_beat_near_the_frame_rate():
    width = SR / 256
    rate = SR / 256
    assert harmonic_clean_bins([69], SR, rate, 4.0).all()  # A4's partials are 440 Hz apart
    low = harmonic_clean_bins([35], SR, rate, 4.0)  # B1, 61.7 Hz: its neighbours beat at f0
    assert not low[2:120].any()
    # A4 (440 Hz) and B4 (493.9 Hz) are 53.9 Hz apart: 8.6 Hz from the frame rate, so their
    # bins stay while the band + 3 Hz of detuning is narrower than that, and go beyond it
    k = int(round(467 / width))
    assert harmonic_clean_bins([69, 71], SR, rate, 5.5)[k]
    assert not harmonic_clean_bins([69, 71], SR, rate, 5.7)[k]
    assert harmonic_clean_bins([69, 72], SR, rate, 5.7)[k]  # C5: 83.3 Hz from A4
