"""The page's logic without a browser: play, blend, render, limits, pitch names, spectrogram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sing.api
from sing.errors import SingError
from sing.midi.pieces import CANON
from sing.midi.writer import Part, write_midi

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


@pytest.mark.parametrize(("text", "pitch"), [
    ("C4", 60), ("A4", 69), ("F#3", 54), ("Bb2", 46), ("c-1", 0), ("G9", 127), ("60", 60),
    (" 72 ", 72), (64, 64), ("E♭4", 63),
])
def test_parse_pitch(text, pitch) -> None:
    from sing.app.session import parse_pitch

    assert parse_pitch(text) == pitch


@pytest.mark.parametrize("text", ["H4", "", "C", "128", "G#9", "60.5", 60.5])
def test_parse_pitch_refuses(text) -> None:
    from sing.app.session import parse_pitch

    with pytest.raises(SingError):
        parse_pitch(text)


def test_instruments_grouped_by_family_with_gm_names(app_session) -> None:
    choices = app_session.instrument_choices()
    assert len(choices) == 128
    families = [c.family for c in choices]
    assert families == sorted(families)  # grouped: each family one run, in order
    labels = {c.name: c.label for c in choices}
    assert labels["keyboard_acoustic_000"] == "keyboard · Acoustic Grand Piano"
    assert labels["string_acoustic_040"] == "string · Violin"
    assert app_session.instrument_name("violin") == "string_acoustic_040"
    assert app_session.instrument_name("string · Violin") == "string_acoustic_040"
    with pytest.raises(SingError, match="unknown instrument 'theremin'"):
        app_session.instrument_name("theremin")


def test_play_is_the_generation_path(app_session, gm_model) -> None:
    audio = app_session.play("Violin", "A4", 100)
    expected = sing.api.synthesize(gm_model, "string_acoustic_040", 69, 100).numpy()
    assert audio.sample_rate == 16000 and audio.samples.shape == (16000,)
    np.testing.assert_array_equal(audio.samples, expected)
    assert np.sqrt(np.mean(audio.samples.astype(np.float64) ** 2)) > 1e-3
    assert audio.title == "string_acoustic_040-069-100"


def test_blend_of_three(app_session, gm_model) -> None:
    spec = app_session.instrument_spec([("Violin", 2.0), ("Flute", 1.0), ("Trumpet", 1.0)])
    assert spec == {"string_acoustic_040": 2.0, "flute_acoustic_073": 1.0,
                    "brass_acoustic_056": 1.0}
    audio = app_session.play(spec, 60, 100)
    expected = sing.api.synthesize(gm_model, {"string_acoustic_040": 0.5,
                                              "flute_acoustic_073": 0.25,
                                              "brass_acoustic_056": 0.25}, 60, 100)
    np.testing.assert_allclose(audio.samples, expected.numpy(), atol=1e-6)
    violin = app_session.play("Violin", 60, 100).samples
    assert np.abs(audio.samples - violin).max() > 1e-3  # a blend is another sound


@pytest.mark.parametrize(("parts", "message"), [
    ([("Violin", 0.0), ("Flute", 0.0)], "sum to 0"),
    ([("Violin", -1.0), ("Flute", 1.0)], "must be >= 0"),
    ([("Violin", 1.0), ("nothing", 1.0)], "unknown instrument 'nothing'"),
    ([(None, 1.0), ("", 1.0)], "choose an instrument"),
    ([("Violin", "x"), ("Flute", 1.0)], "not a number"),
])
def test_bad_blends(app_session, parts, message) -> None:
    with pytest.raises(SingError, match=message):
        app_session.play(app_session.instrument_spec(parts), 60, 100)


def test_bad_pitch_and_velocity(app_session) -> None:
    with pytest.raises(SingError, match="outside this model's range 24-96"):
        app_session.play("Violin", "C8", 100)
    with pytest.raises(SingError, match="velocity 99 is not one of"):
        app_session.play("Violin", 60, 99)


def _small_midi(path: Path) -> Path:
    parts = [Part("Piano", 0, 0, [(0, 1, 60, 100), (1, 1, 64, 90)]),
             Part("Strings", 1, 40, [(0, 2, 48, 80), (0.5, 1, 67, 100)])]
    return write_midi(path, parts, bpm=120)


def test_render_bundled_piece_is_render_midi(app_session, gm_model) -> None:
    audio = app_session.render(None)
    expected = sing.api.render_midi(gm_model, CANON).numpy()
    np.testing.assert_array_equal(audio.samples, expected)
    assert audio.seconds > 52.0


def test_tracks_and_per_track_override(app_session, gm_model, tmp_path: Path) -> None:
    midi = _small_midi(tmp_path / "two.mid")
    tracks = app_session.tracks(midi)
    assert [(t.track, t.name, t.programs, t.notes) for t in tracks] == [
        (1, "Piano", (0,), 2), (2, "Strings", (40,), 2)]
    plain = app_session.render(midi).samples
    np.testing.assert_array_equal(plain, sing.api.render_midi(gm_model, midi).numpy())
    # every track overridden with the flute: the same as --instrument for every track
    both = app_session.render(midi, {1: "Flute", 2: "flute_acoustic_073"}).samples
    np.testing.assert_allclose(  # the same notes, added in another order
        both, sing.api.render_midi(gm_model, midi, instrument="flute_acoustic_073").numpy(),
        atol=1e-6)
    # one track overridden (a blend): the piano track's program map is the other track's
    one = app_session.render(midi, {2: "Violin:0.5,Flute:0.5"}).samples
    program_map = {0: "keyboard_acoustic_000",
                   40: {"string_acoustic_040": 0.5, "flute_acoustic_073": 0.5}}
    np.testing.assert_allclose(
        one, sing.api.render_midi(gm_model, midi, program_map=program_map).numpy(), atol=1e-6)
    with pytest.raises(SingError, match="no notes in track 7"):
        app_session.render(midi, {7: "Flute"})


def test_render_limits_are_checked_before_work(gm_model, tmp_path: Path) -> None:
    from sing.app.session import AppSession

    midi = _small_midi(tmp_path / "two.mid")
    small = AppSession(gm_model, max_midi_bytes=50)
    with pytest.raises(SingError, match="too large"):
        small.render(midi)
    huge = tmp_path / "huge.mid"
    huge.write_bytes(b"MThd" + b"\0" * 2_000_000)  # refused on its size, never parsed
    with pytest.raises(SingError, match=r"huge.mid: the MIDI file is too large \(2.0 MB"):
        AppSession(gm_model).render(huge)
    with pytest.raises(SingError, match="has 4 notes; this page renders up to 3"):
        AppSession(gm_model, max_notes=3).render(midi)
    with pytest.raises(SingError, match="lasts"):
        AppSession(gm_model, max_seconds=0.5).render(midi)
    junk = tmp_path / "song.mid"
    junk.write_text("not midi")
    with pytest.raises(SingError, match=r"^song.mid: not a Standard MIDI File"):
        AppSession(gm_model).render(junk)


def test_spectrogram_puts_a_sine_at_its_frequency() -> None:
    from sing.app.session import spectrogram_image

    t = np.arange(16000) / 16000
    image = spectrogram_image(np.sin(2 * np.pi * 2000 * t), width=100, height=257)
    assert image.shape == (257, 100, 3) and image.dtype == np.uint8
    brightness = image.astype(np.float64).sum(axis=(1, 2))
    row = int(brightness.argmax())  # row 0 is 8 kHz, the last row 0 Hz
    assert abs((1 - row / 256) * 8000 - 2000) <= 2 * 8000 / 256


def test_wav_bytes_round_trip() -> None:
    import io

    import soundfile as sf

    from sing.app.session import Audio, wav_bytes

    x = (0.5 * np.sin(np.linspace(0, 100, 8000))).astype(np.float32)
    data, rate = sf.read(io.BytesIO(wav_bytes(Audio(x, 8000, ""))), dtype="float32")
    assert rate == 8000
    np.testing.assert_allclose(data, x, atol=1 / 32767)


