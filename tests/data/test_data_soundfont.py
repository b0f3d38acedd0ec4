"""The SoundFont builder on the real FluidR3 SoundFont: schema, levels, determinism, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from sing.data import soundfont
from sing.data.gm import GM_PROGRAMS, instrument_str
from sing.data.schema import EXAMPLE_KEYS, NSYNTH_QUALITIES
from sing.data.soundfont import (
    DEMO_PITCHES,
    DEMO_PROGRAMS,
    NOTE_PEAK,
    build_dataset,
    parse_int_ranges,
)
from sing.data.vocabulary import NSYNTH_FAMILIES, NSYNTH_SOURCES
from sing.errors import SingError

# A note in the exact form of NSynth's examples.json (keys and JSON types): the schema to match.
NSYNTH_NOTE = {
    "note": 201034, "sample_rate": 16000, "pitch": 69, "instrument_source": 0,
    "instrument_family_str": "guitar", "instrument_str": "guitar_acoustic_009",
    "note_str": "guitar_acoustic_009-069-100", "qualities_str": ["bright"],
    "instrument_source_str": "acoustic", "velocity": 100, "instrument_family": 3,
    "instrument": 126, "qualities": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
}


def _types(meta: dict) -> dict:
    return {k: type(v) for k, v in meta.items()}


def test_schema_is_nsynths(gm_dataset: Path):
    examples = json.loads((gm_dataset / "examples.json").read_text())
    assert len(examples) == 3 * 8 * 5
    assert set(EXAMPLE_KEYS) == set(NSYNTH_NOTE)
    for name, meta in examples.items():
        assert set(meta) == set(NSYNTH_NOTE), name
        assert _types(meta) == {k: type(v) for k, v in NSYNTH_NOTE.items() if k in meta}
        assert meta["note_str"] == name
        assert name == f"{meta['instrument_str']}-{meta['pitch']:03d}-{meta['velocity']:03d}"
        assert len(meta["qualities"]) == len(NSYNTH_QUALITIES) and not any(meta["qualities"])
        assert meta["qualities_str"] == []
        assert NSYNTH_FAMILIES[meta["instrument_family"]] == meta["instrument_family_str"]
        assert NSYNTH_SOURCES[meta["instrument_source"]] == meta["instrument_source_str"]
    piano = examples["keyboard_acoustic_000-060-100"]
    assert (piano["instrument"], piano["instrument_family_str"], piano["sample_rate"]) == (
        0, "keyboard", 16000)
    assert "string_acoustic_040-064-127" in examples and "flute_acoustic_073-057-025" in examples
    assert len({m["note"] for m in examples.values()}) == len(examples)  # unique note ids


def test_audio_levels_and_shape(gm_dataset: Path):
    build = json.loads((gm_dataset / "build.json").read_text())
    peaks: dict[str, int] = {}
    for wav in sorted((gm_dataset / "audio").glob("*.wav")):
        rate, data = scipy.io.wavfile.read(wav)  # independent reader
        assert rate == 16000 and data.dtype == np.int16 and data.shape == (64000,)
        inst = wav.stem.rsplit("-", 2)[0]
        peaks[inst] = max(peaks.get(inst, 0), int(np.abs(data.astype(np.int32)).max()))
        # the key is held 3 s then released: the last 0.25 s is much quieter than the held part
        held = np.sqrt(np.mean(data[16000:40000].astype(np.float64) ** 2))
        tail = np.sqrt(np.mean(data[-4000:].astype(np.float64) ** 2))
        assert held > 0 and tail < 0.1 * held, wav.name
    # each instrument's loudest note peaks at NOTE_PEAK of full scale (no clipping)
    for inst, peak in peaks.items():
        assert abs(peak - NOTE_PEAK * 32767) <= 1, inst
        gain = build["instruments"][inst]["gain"]
        assert gain * build["instruments"][inst]["peak_before_gain"] == pytest.approx(NOTE_PEAK)
    assert build["settings"]["reverb"] is False and build["silent_notes_skipped"] == 0


def test_velocity_changes_loudness(gm_dataset: Path):
    def rms(name: str) -> float:
        _, data = scipy.io.wavfile.read(gm_dataset / "audio" / f"{name}.wav")
        return float(np.sqrt(np.mean(data.astype(np.float64) ** 2)))

    assert rms("keyboard_acoustic_000-060-025") < 0.5 * rms("keyboard_acoustic_000-060-127")


def test_int16_conversion_matches_float64_reference(tmp_path: Path):
    with soundfont.FluidRenderer(soundfont.find_soundfont()) as r:
        wav = r.render(40, 60, 100, 16000, 12000)
        again = r.render(40, 60, 100, 16000, 12000)
    assert wav.dtype == np.float32 and np.array_equal(wav, again)  # fresh synth per note
    build_dataset(tmp_path / "one", programs=[40], pitches=[60], velocities=[100],
                  duration=1.0, hold=0.75, progress=False)
    _, data = scipy.io.wavfile.read(tmp_path / "one" / "audio" / "string_acoustic_040-060-100.wav")
    ref = np.round(wav.astype(np.float64) / np.abs(wav.astype(np.float64)).max()
                   * NOTE_PEAK * 32767)
    assert np.abs(data.astype(np.float64) - ref).max() <= 1.0


def test_byte_identical_rebuild(tmp_path: Path):
    kw = dict(programs=[24, 43], pitches=[57, 60], velocities=[50, 127], duration=1.0,
              hold=0.5, progress=False)
    a = build_dataset(tmp_path / "a", **kw)
    b = build_dataset(tmp_path / "b", jobs=2, **kw)  # two worker processes: same bytes
    assert a == b
    root = tmp_path / "a"
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert len(files) == 2 + 6  # examples.json, build.json, 6 sounding notes
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    # contrabass (43) has no sample above 58: its pitch-60 notes are silent, skipped, counted
    assert a["silent_notes_skipped"] == 2 and "string_acoustic_043-060-127" in a["skipped"]
    assert a["instruments"]["string_acoustic_043"]["silent_notes"] == 2


def test_interrupted_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "ds"
    calls = {"n": 0}
    real = soundfont.write_wav

    def dying_write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(*args, **kwargs)

    monkeypatch.setattr(soundfont, "write_wav", dying_write)
    with pytest.raises(KeyboardInterrupt):
        build_dataset(out, programs=[0], pitches=[60, 61], velocities=[100, 127],
                      duration=0.5, hold=0.25, progress=False)
    assert list(tmp_path.iterdir()) == []  # no dataset, no half-written temporary folder
    monkeypatch.setattr(soundfont, "write_wav", real)
    (tmp_path / ".tmp-ds.leftover").mkdir()  # what a SIGKILLed build leaves
    build_dataset(out, programs=[0], pitches=[60, 61], velocities=[100, 127],
                  duration=0.5, hold=0.25, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    assert len(list((out / "audio").iterdir())) == 4
    with pytest.raises(SingError, match="already exists; use --force"):
        build_dataset(out, programs=[0], pitches=[60], progress=False)


def test_all_silent_is_an_error(tmp_path: Path):
    with pytest.raises(SingError, match="every note was silent"):
        build_dataset(tmp_path / "x", programs=[43], pitches=[100], velocities=[100],
                      duration=0.5, hold=0.25, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_parse_int_ranges():
    assert parse_int_ranges("0,24,40-42", 0, 127, "program") == (0, 24, 40, 41, 42)
    assert parse_int_ranges("all", 0, 3, "program") == (0, 1, 2, 3)
    with pytest.raises(SingError, match="program 128 is outside 0-127"):
        parse_int_ranges("120-128", 0, 127, "program")
    with pytest.raises(SingError, match="bad pitch list"):
        parse_int_ranges("60..72", 0, 127, "pitch")


def test_gm_mapping_and_demo_set():
    assert instrument_str(0) == "keyboard_acoustic_000"
    assert instrument_str(81) == "synth_lead_synthetic_081"
    assert GM_PROGRAMS[33].family == "bass" and GM_PROGRAMS[56].family == "brass"
    # the demo set covers all 11 NSynth families, three programs each
    assert sorted(GM_PROGRAMS[p].family for p in DEMO_PROGRAMS) == sorted(NSYNTH_FAMILIES * 3)
    assert len(set(DEMO_PROGRAMS)) == 33
    assert (DEMO_PITCHES[0], DEMO_PITCHES[-1]) == (48, 72)


def test_demo_programs_sound_at_range_ends():
    # every demo program has a sample at both ends of the demo pitch range (no silent notes)
    with soundfont.FluidRenderer(soundfont.find_soundfont()) as r:
        for program in DEMO_PROGRAMS:
            for pitch in (DEMO_PITCHES[0], DEMO_PITCHES[-1]):
                assert np.any(r.render(program, pitch, 25, 1600, 800)), (program, pitch)
