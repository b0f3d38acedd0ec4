"""`sing render` and sing.api.render_midi on MIDI files written by mido, with tiny models."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf
import torch
from midi_helpers import write_midi

import sing.api
import sing.pretrained
from sing.cli import main
from sing.midi.reader import read_midi
from sing.midi.render import MIX_PEAK, generate_plan, model_hold, plan_render

PEAK_INT16 = round(MIX_PEAK * 32767)


@pytest.fixture
def song(tmp_path: Path) -> Path:
    """Piano (short and long notes, a repeated note, one above the model's range), violin,
    viola (not in the model: the violin plays it), drums; 120 bpm."""
    return write_midi(tmp_path / "song.mid", [
        (0, 0, [(0, 0.5, 60, 100), (1, 0.5, 60, 100), (2, 0.25, 64, 90), (3, 6, 67, 60),
                (4, 1, 96, 127)]),
        (1, 40, [(0, 4, 48, 127), (4, 1, 50, 30)]),
        (2, 41, [(2, 2, 55, 80)]),
        (9, 0, [(0, 0.25, 36, 127), (1, 0.25, 38, 127)]),
    ])


def _read(path: Path) -> tuple[np.ndarray, int]:
    wav, rate = sf.read(path, dtype="int16")
    assert sf.info(path).subtype == "PCM_16"
    return wav, rate


def test_render_cli(song: Path, gm_model_file: Path, tmp_path: Path, caplog):
    out = tmp_path / "song.wav"
    assert main(["render", str(song), "--out", str(out), "--model", str(gm_model_file)]) == 0
    err = caplog.text
    assert "skipped 2 drum notes (channel 10)" in err
    assert "moved by octaves (96->84)" in err
    assert "program 41 (Viola) is not in this model: string_acoustic_040 plays it" in err
    wav, rate = _read(out)
    assert rate == 16000
    # the last note ends at beat 9 = 4.5 s, then its release (0.5 s, from the model's hold)
    assert len(wav) / rate == pytest.approx(5.0, abs=0.02)
    # peak-safe: normalised to -1 dBFS, nothing clipped
    assert np.abs(wav.astype(np.int32)).max() == PEAK_INT16 < 32767
    # the library function gives the same mix
    mix = sing.api.render_midi(sing.api.load_model(gm_model_file), song)
    assert mix.shape == (len(wav),) and mix.dtype == torch.float32
    assert np.abs(mix.numpy() * 32767 - wav).max() <= 1.0



def test_render_int8(song: Path, gm_model_file: Path, tmp_path: Path):
    """``--dtype int8`` renders through the same path: the int8 mix is near the float32 one."""
    out = tmp_path / "int8.wav"
    argv = ["render", str(song), "--out", str(out), "--model", str(gm_model_file)]
    assert main([*argv, "--dtype", "int8"]) == 0
    wav, _ = _read(out)
    mix = sing.api.render_midi(sing.api.load_model(gm_model_file), song).numpy() * 32767
    assert wav.shape == mix.shape
    error = np.sqrt(np.mean((wav - mix) ** 2) / np.mean(mix**2))
    assert 0 < error < 0.1, error

def test_each_distinct_note_is_generated_once(song: Path, gm_model_file: Path):
    model = sing.api.load_model(gm_model_file)
    score = read_midi(song)
    plan = plan_render(model, score)
    assert model_hold(model) == plan.hold == 8000  # 0.5 s, from the vocabulary
    assert len(score.notes) == 8 and len(plan.keys) == 7  # the repeated C4 once
    assert len(set(plan.keys)) == len(plan.keys)
    c4 = [k for k, n in zip(plan.note_keys, score.notes, strict=True) if n.pitch == 60]
    assert len(c4) == 2 and c4[0] == c4[1]
    violin = model.vocabulary.instrument_index("string_acoustic_040")
    viola = [k for k, n in zip(plan.note_keys, score.notes, strict=True) if n.program == 41]
    assert plan.keys[viola[0]] == (((violin, 1.0),), 55, 2)  # velocity 80 -> 75, index 2
    done: list[tuple[int, int]] = []
    waves = generate_plan(model, plan, batch_size=3, progress=lambda n, k: done.append((n, k)))
    assert done == [(3, 7), (3, 7), (1, 7)] and waves.shape == (7, 16000)
    want = model(torch.tensor([violin]), torch.tensor([55]), torch.tensor([2]))[0]
    assert torch.allclose(waves[viola[0]], want.clamp(-1, 1), atol=1e-5)


def test_note_lengths_follow_the_midi(tmp_path: Path, gm_model_file: Path):
    """One short note (released at note-off) and one long one (sustained, then released)."""
    for beats, seconds in ((0.25, 0.125), (6, 3.0)):
        path = write_midi(tmp_path / f"{beats}.mid", [(0, 0, [(0, beats, 60, 100)])])
        mix = sing.api.render_midi(sing.api.load_model(gm_model_file), path)
        assert len(mix) / 16000 == pytest.approx(seconds + 0.5, abs=0.01)
        # sounding until the end of the release, not cut short
        assert mix[-2000:-200].abs().max() > 1e-3 * mix.abs().max()


def test_sample_rate_blend_and_loud_chords(tmp_path: Path, gm_model_file: Path):
    chord = [(0, 2, p, 127) for p in range(48, 72)]  # 24 voices at once
    path = write_midi(tmp_path / "chord.mid", [(0, 0, chord), (1, 73, chord)])
    out = tmp_path / "chord.wav"
    argv = ["render", str(path), "--out", str(out), "--model", str(gm_model_file),
            "--sample-rate", "44100",
            "--instrument", "keyboard_acoustic_000:0.7,flute_acoustic_073:0.3"]
    assert main(argv) == 0
    wav, rate = _read(out)
    assert rate == 44100 and len(wav) / rate == pytest.approx(1.5, abs=0.01)
    assert np.abs(wav.astype(np.int32)).max() == PEAK_INT16


def test_program_map_for_a_non_gm_model(tmp_path: Path, nsynth_model_file: Path, capsys):
    path = write_midi(tmp_path / "duo.mid", [(0, 0, [(0, 1, 60, 100)]),
                                              (1, 40, [(0, 2, 52, 100)])])
    out = tmp_path / "duo.wav"
    base = ["render", str(path), "--out", str(out), "--model", str(nsynth_model_file)]
    assert main(base) == 2
    assert capsys.readouterr().err == (
        f"sing: error: {path}: program 0 (Acoustic Grand Piano): this model's instruments are "
        "not named after General MIDI programs; pass --program-map 0=INSTRUMENT or "
        "--instrument INSTRUMENT (`sing info MODEL --instruments` lists them)\n")
    assert not out.exists()
    assert main([*base, "--program-map", "0=guitar_acoustic_009", "--program-map",
                 "40-47=guitar_acoustic_009:1,brass_acoustic_001:1"]) == 0
    wav, rate = _read(out)
    assert len(wav) / rate == pytest.approx(1.0 + 0.25, abs=0.01)  # default hold: 0.75 of 1 s


def _only_tempo(path: Path) -> Path:
    midi = mido.MidiFile(type=1)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000)]))
    midi.save(str(path))
    return path


@pytest.mark.parametrize("case, message", [
    ("not-midi", "not a Standard MIDI File (no MThd header)"),
    ("truncated", "truncated MIDI file"),
    ("no-notes", "no notes to render"),
    ("only-drums", "only drums (3 notes on channel 10"),
    ("bad-map", "bad --program-map item '0:piano'"),
    ("out-is-folder", "is a folder; give a .wav file name"),
    ("out-no-folder", "cannot write: its folder does not exist"),
])
def test_bad_input_is_one_line(case: str, message: str, tmp_path: Path, gm_model_file: Path,
                               capsys):
    path = tmp_path / "in.mid"
    out = tmp_path / "out.wav"
    extra: list[str] = []
    if case == "not-midi":
        path.write_text("MIDI? no, a text file\n")
    elif case == "truncated":
        good = write_midi(tmp_path / "good.mid", [(0, 0, [(i, 1, 60, 100) for i in range(8)])])
        path.write_bytes(good.read_bytes()[:60])
    elif case == "no-notes":
        _only_tempo(path)
    elif case == "only-drums":
        write_midi(path, [(9, 0, [(0, 1, 36, 100), (1, 1, 38, 100), (2, 1, 42, 100)])])
    else:
        write_midi(path, [(0, 0, [(0, 1, 60, 100)])])
        if case == "bad-map":
            extra = ["--program-map", "0:piano"]
        elif case == "out-is-folder":
            out.mkdir()
        else:
            out = tmp_path / "nowhere" / "out.wav"
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["render", str(path), "--out", str(out), "--model", str(gm_model_file),
                 *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sing: error: ") and message in err and err.count("\n") == 1
    if case not in ("bad-map", "out-is-folder", "out-no-folder"):
        assert err.startswith(f"sing: error: {path}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing (half) written


def test_no_shipped_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr(sing.pretrained, "SHIPPED_MODEL", tmp_path / "gm.safetensors")
    path = write_midi(tmp_path / "a.mid", [(0, 0, [(0, 1, 60, 100)])])
    assert main(["render", str(path), "--out", str(tmp_path / "a.wav")]) == 2
    assert capsys.readouterr().err == (
        "sing: error: no shipped model in this install; pass --model FILE\n")
    assert not (tmp_path / "a.wav").exists()


def test_short_notes_skip_the_decoder_where_never_heard(tmp_path: Path, gm_model_file: Path):
    """The fast path decodes only what fit_note reads: the mix is the same as from full notes."""
    from sing.midi.envelope import samples_read
    from sing.midi.render import mix_plan
    from sing.models.fast import FastSING

    path = write_midi(tmp_path / "short.mid", [(0, 0, [(b / 4, 0.2, 48 + b, 100)
                                                       for b in range(12)])])
    model = sing.api.load_model(gm_model_file)
    plan = plan_render(model, read_midi(path))
    masked = generate_plan(model, plan)
    fast = FastSING(model, dtype=torch.float32)
    keys = plan.keys
    full = fast(torch.tensor([w[0][0] for w, _, _ in keys]), torch.tensor([p for _, p, _ in keys]),
                torch.tensor([v for _, _, v in keys]))
    ranges = samples_read([1600], plan.hold, 16000, 16000)
    assert ranges == [(0, 2240), (6080, 16000)]  # 0.1 s note: the middle is never heard
    mask = fast.position_mask([ranges])
    assert 0.6 < float(mask.float().mean()) < 0.9
    for a, b in ranges:
        assert torch.allclose(masked[:, a:b], full.clamp(-1, 1)[:, a:b], atol=1e-5)
    assert not torch.allclose(masked[:, 2400:5800], full[:, 2400:5800], atol=1e-3)
    mix_masked, mix_full = mix_plan(plan, masked), mix_plan(plan, full.clamp(-1, 1))
    assert np.abs(mix_masked - mix_full).max() < 1e-5 and np.abs(mix_full).max() > 1e-3
