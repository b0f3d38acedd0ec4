"""`sing dataset build --from-samples` on real recordings: notes of the FluidR3 SoundFont (its
samples are recordings) rendered with FluidSynth, written in several formats, rates and channel
counts into folders named in each convention, plus a folder of junk."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import soundfile as sf
import soxr

from sing.cli import main
from sing.data.builds import NOTE_PEAK
from sing.data.samples import build_from_samples, read_mono, shape_note, skip_summary
from sing.errors import SingError

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")

RATE = 44100
LEAD = 0.3  # seconds of near-silence before every recorded note




class Recorder:
    """Notes of FluidR3 played by FluidSynth, with a quiet lead-in like a real recording."""

    def __init__(self) -> None:
        from sing.data.soundfont import FluidRenderer, find_soundfont

        self.renderers: dict[int, FluidRenderer] = {}
        self.soundfont = find_soundfont()
        self.noise = np.random.default_rng(0)

    def note(self, program: int, pitch: int, velocity: int = 100, seconds: float = 1.2,
             rate: int = RATE) -> np.ndarray:
        from sing.data.soundfont import FluidRenderer

        if rate not in self.renderers:
            self.renderers[rate] = FluidRenderer(self.soundfont, rate)
        wav = self.renderers[rate].render(program, pitch, velocity, round(seconds * rate),
                                          round(0.8 * seconds * rate))
        lead = self.noise.normal(0, 1e-5, round(LEAD * rate)).astype(np.float32)
        return np.concatenate([lead, wav])

    def close(self) -> None:
        for r in self.renderers.values():
            r.close()


def _write(path: Path, wav: np.ndarray, rate: int = RATE, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, rate, **kwargs)


@pytest.fixture(scope="module")
def recorder():
    r = Recorder()
    yield r
    r.close()


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Path:
    """Sub-folders in each naming convention (cello: note names, FLAC stereo; Piano: Iowa,
    AIFF 48 kHz; violin: Philharmonia, MP3; flute: MIDI numbers / NSynth names / no name, OGG
    22.05 kHz and WAV; keys_daw: named with middle C = C3)."""
    root = tmp_path_factory.mktemp("samples") / "samples"
    for stem, pitch, velocity in [("cello_C3_pp", 48, 30), ("cello_D#3_ff", 51, 120),
                                  ("cello_Gb3_mf", 54, 80), ("cello_C3_ppp", 48, 20)]:
        x = recorder.note(42, pitch, velocity)
        _write(root / "my_cello" / f"{stem}.flac", np.stack([x, 0.7 * x], axis=1))
    for stem, pitch, velocity in [("Piano.ff.C4", 60, 120), ("Piano.pp.E4", 64, 30)]:
        _write(root / "Piano" / f"{stem}.aiff", recorder.note(0, pitch, velocity, rate=48000),
               48000)
    for stem, pitch in [("violin_A4_1_forte_arco-normal", 69),
                        ("violin_G4_05_pianissimo_arco-normal", 67)]:
        _write(root / "violin" / "arco" / f"{stem}.mp3", recorder.note(40, pitch), format="MP3")
    _write(root / "flute" / "072_100.ogg", recorder.note(73, 72, rate=22050), 22050)
    _write(root / "flute" / "midi76.ogg", recorder.note(73, 76, rate=22050), 22050)
    _write(root / "flute" / "flute_acoustic_073-074-050.wav", recorder.note(73, 74, 50))
    _write(root / "flute" / "breath take 2.wav", recorder.note(73, 77))
    for stem, pitch in [("keys_C3", 60), ("keys_E3", 64)]:
        _write(root / "keys_daw" / f"{stem}.wav", recorder.note(4, pitch))
    return root


@pytest.fixture(scope="module")
def built(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("built") / "data"
    summary = build_from_samples(samples, out, progress=False)
    return out, summary


def test_every_convention_comes_in(built: tuple[Path, dict]):
    out, summary = built
    examples = json.loads((out / "examples.json").read_text())
    assert sorted(examples) == [
        "flute-072-100", "flute-074-050", "flute-076-100", "flute-077-100",
        "my_cello-048-025", "my_cello-051-127", "my_cello-054-075",
        "piano-060-127", "piano-064-025",
        "violin-067-025", "violin-069-100",
    ]
    families = {m["instrument_str"]: m["instrument_family_str"] for m in examples.values()}
    assert families == {"flute": "flute", "my_cello": "string", "piano": "keyboard",
                        "violin": "string"}
    assert {m["instrument_str"]: m["instrument"] for m in examples.values()} == {
        "flute": 0, "my_cello": 1, "piano": 2, "violin": 3}
    sources = summary["sources"]
    assert sources["flute-077-100"]["pitch_from"] == "measured"
    assert sources["flute-077-100"]["file"] == "flute/breath take 2.wav"
    assert sources["flute-077-100"]["velocity_from"] == "default"
    assert sources["violin-069-100"]["file"] == "violin/arco/violin_A4_1_forte_arco-normal.mp3"
    for name, src in sources.items():  # every named pitch was checked by CREPE and agrees
        assert src["measured_pitch"] is not None, name
        assert abs(src["measured_pitch"] - examples[name]["pitch"]) <= 0.5, name
    # two takes of C3 pp: the exact mark is kept, the other said
    assert summary["takes"] == [{"note": "my_cello-048-025", "kept": "my_cello/cello_C3_pp.flac",
                                 "dropped": ["my_cello/cello_C3_ppp.flac"]}]
    # the DAW-named folder (middle C = C3) disagrees with the default C4 convention
    skipped = {s["file"]: s for s in summary["skipped"]}
    assert set(skipped) == {"keys_daw/keys_C3.wav", "keys_daw/keys_E3.wav"}
    assert skipped["keys_daw/keys_C3.wav"]["problem"] == "pitch mismatch"
    reason = skipped["keys_daw/keys_C3.wav"]["reason"]
    assert "C3 (pitch 48)" in reason and "measured 60." in reason and "C4" in reason
    assert "keys_daw" not in summary["instruments"]
    assert summary["files"] == 14 and summary["notes"] == 11
    assert skip_summary(summary) == ("2 of 14 files skipped (2 pitch mismatch); 1 extra take(s) "
                                     "of 1 note(s) left out; 1 pitch(es) measured by CREPE")


def test_audio_is_trimmed_levelled_and_mono(built: tuple[Path, dict], samples: Path):
    out, summary = built
    peaks: dict[str, int] = {}
    for wav in sorted((out / "audio").glob("*.wav")):
        rate, data = scipy.io.wavfile.read(wav)
        assert rate == 16000 and data.dtype == np.int16 and data.shape == (64000,)
        inst = wav.stem.rsplit("-", 2)[0]
        peaks[inst] = max(peaks.get(inst, 0), int(np.abs(data.astype(np.int32)).max()))
        # the 0.3 s lead-in is gone: the note starts within the pre-roll (5 ms)
        loud = np.flatnonzero(np.abs(data.astype(np.int32)) >= 0.01 * np.abs(data).max())
        assert loud[0] <= 0.006 * 16000, wav.name
        assert not np.any(data[round(1.25 * 16000):]), wav.name  # 1.2 s of sound, then zeros
    for inst, peak in peaks.items():
        assert abs(peak - NOTE_PEAK * 32767) <= 1, inst
    # the stereo FLAC: mean of channels, resampled with soxr, trimmed, times the gain
    src = samples / "my_cello" / "cello_D#3_ff.flac"
    data, rate = sf.read(src, dtype="float32", always_2d=True)
    mono = soxr.resample(data.mean(axis=1), rate, 16000, quality="HQ")
    expected, _ = shape_note(mono.astype(np.float32), 16000, 64000)
    gain = summary["instruments"]["my_cello"]["gain"]
    _, got = scipy.io.wavfile.read(out / "audio" / "my_cello-051-127.wav")
    assert np.abs(got / 32767 - expected * gain).max() <= 1.01 / 32767


def test_octave_convention_option(samples: Path, tmp_path: Path):
    summary = build_from_samples(samples / "keys_daw", tmp_path / "keys", middle_c="C3",
                                 progress=False)
    assert sorted(summary["sources"]) == ["keys_daw-060-100", "keys_daw-064-100"]
    assert summary["instruments"]["keys_daw"]["family"] == "keyboard"
    assert summary["skipped"] == []


@pytest.fixture(scope="module")
def junk(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Path:
    """A flat folder: two good notes, a 6-channel 96 kHz 24-bit note, and junk."""
    root = tmp_path_factory.mktemp("junk") / "junk"
    _write(root / "good_C4.wav", recorder.note(0, 60))
    _write(root / "good_D4.flac", recorder.note(0, 62))
    x = recorder.note(0, 64, rate=96000)
    _write(root / "surround_E4.wav", x[:, None] * np.linspace(1, 0, 6)[None], 96000,
           subtype="PCM_24")
    (root / "notes.txt").write_text("these are my cello samples\n")
    _write(root / "short_C4.wav", recorder.note(0, 60, seconds=0.1)[round(LEAD * RATE):])
    _write(root / "silent_C4.wav", np.zeros(RATE, np.float32))
    _write(root / "wrong_A4.wav", recorder.note(0, 60))
    _write(root / "noise.wav", np.random.default_rng(1).uniform(-0.5, 0.5, RATE))
    _write(root / "Horn.ff.C4B4.wav", recorder.note(0, 60))
    flac = (root / "good_D4.flac").read_bytes()
    (root / "corrupt_C4.flac").write_bytes(flac[:60])
    (root / ".DS_Store").write_bytes(b"\0\1\2")
    return root


def test_junk_is_skipped_with_its_reason(junk: Path, tmp_path: Path):
    summary = build_from_samples(junk, tmp_path / "data", instrument="Upright",
                                 families={"upright": "keyboard"}, progress=False)
    assert sorted(summary["sources"]) == ["upright-060-100", "upright-062-100",
                                          "upright-064-100"]
    assert summary["sources"]["upright-064-100"]["file"] == "surround_E4.wav"
    reasons = {s["file"]: (s["problem"], s["reason"]) for s in summary["skipped"]}
    assert {f: p for f, (p, _) in reasons.items()} == {
        "notes.txt": "unreadable", "corrupt_C4.flac": "unreadable",
        "short_C4.wav": "too short", "silent_C4.wav": "silent",
        "wrong_A4.wav": "pitch mismatch", "noise.wav": "no pitch",
        "Horn.ff.C4B4.wav": "bad name",
    }
    assert "libsndfile" in reasons["notes.txt"][1]
    assert "0.10 s" in reasons["short_C4.wav"][1]
    assert "A4 (pitch 69)" in reasons["wrong_A4.wav"][1] and "measured 60" in reasons[
        "wrong_A4.wav"][1]
    assert "range of notes" in reasons["Horn.ff.C4B4.wav"][1]
    assert summary["files"] == 10  # .DS_Store is hidden, not a file of the folder
    assert summary["instruments"]["upright"]["family_guessed"] is False
    # the 6-channel 96 kHz note: the mean of its channels, resampled, like any other
    data, rate = sf.read(junk / "surround_E4.wav", dtype="float32", always_2d=True)
    assert data.shape[1] == 6 and rate == 96000
    mono = read_mono(junk / "surround_E4.wav", 16000)
    assert np.allclose(mono, soxr.resample(data.mean(axis=1), 96000, 16000), atol=1e-6)


def test_cli_rules(samples: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    flute = samples / "flute"
    out = tmp_path / "data"
    args = ["dataset", "build", "--from-samples", str(flute), "--out", str(out),
            "--no-progress", "--duration", "1"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "0 of 4 files skipped; 1 pitch(es) measured by CREPE" in captured.err
    assert "4 notes of 1 instrument(s): flute (flute, 4 notes)" in captured.out
    assert main(args) == 2  # exists: --force needed
    assert "already exists; use --force" in capsys.readouterr().err
    before = (out / "examples.json").read_text()
    assert main([*args, "--force"]) == 0 and (out / "examples.json").read_text() == before
    capsys.readouterr()
    for extra, message in [
        (["--programs", "0"], "--programs: SoundFont options, not for --from-samples"),
        (["--hold", "1"], "--hold: SoundFont options"),
        (["--family", "woodwind"], "unknown family 'woodwind'"),
        (["--family", "oboe=reed"], "--family names instrument(s) not in the folder: oboe"),
    ]:
        assert main([*args, "--force", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert main(["dataset", "build", "--out", str(tmp_path / "x"), "--middle-c", "C3"]) == 2
    assert "--middle-c: only with --from-samples" in capsys.readouterr().err
    odd = tmp_path / "odd"
    (odd / "thing").mkdir(parents=True)
    (odd / "thing" / "C4.wav").write_bytes((flute / "flute_acoustic_073-074-050.wav")
                                           .read_bytes())
    assert main(["dataset", "build", "--from-samples", str(odd), "--out", str(tmp_path / "o")]) == 2
    assert "cannot guess the NSynth family of instrument 'thing'" in capsys.readouterr().err
    with pytest.raises(SingError, match="inside the sample folder"):
        build_from_samples(odd, odd / "data", families={"*": "reed"}, progress=False)


def test_recorded_folder_to_a_playable_model(tmp_path: Path, recorder: Recorder,
                                             caplog: pytest.LogCaptureFixture):
    """Folder -> build -> split -> check -> train (tiny) -> render a MIDI file with the new
    instrument (a pitch outside its range: moved by octaves, warned). `sing evaluate` and
    `sing report` (minutes here: numba compiles the pitch estimator) ran on the README's
    example run."""
    from sing.midi.writer import Part, write_midi

    folder = tmp_path / "my samples" / "my_cello"
    names = ["C3", "C#3", "D3", "D#3", "E3", "F3", "F#3", "G3", "G#3", "A3"]
    for pitch, name in enumerate(names, start=48):
        _write(folder / f"{name}.wav", recorder.note(42, pitch, seconds=0.9))
    data, run = tmp_path / "data", tmp_path / "run"
    assert main(["dataset", "build", "--from-samples", str(folder.parent), "--out", str(data),
                 "--duration", "1", "--no-progress"]) == 0
    assert main(["dataset", "split", str(data)]) == 0
    assert main(["dataset", "check", str(data), "--no-progress"]) == 0
    assert main(["train", "--data", str(data), "--out", str(run), "--preset", "tiny",
                 "--batch-size", "4", "--max-notes", "8", "--eval-notes", "2", "--seed", "3",
                 "--no-progress", "--epochs-ae", "1", "--epochs-seq", "1",
                 "--epochs-sing", "1"]) == 0
    model = run / "model.safetensors"
    song, wav = tmp_path / "song.mid", tmp_path / "song.wav"
    write_midi(song, [Part("cello", 0, 42, [(0, 1, 50, 90), (1, 1, 55, 60), (2, 1, 79, 100)])],
               bpm=120)
    with caplog.at_level(logging.WARNING):
        assert main(["render", str(song), "--out", str(wav), "--model", str(model),
                     "--instrument", "my_cello"]) == 0
    assert "outside the model's range 48-57 were moved by octaves" in caplog.text
    rate, audio = scipy.io.wavfile.read(wav)
    assert rate == 16000 and audio.shape[0] >= 3 * 8000
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 100  # not silent
