"""Instrument blends: embeddings between learned instruments, on the plain and fast paths."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
import torch

import sing.api
from sing.cli import main
from sing.errors import SingError
from sing.models.blend import blend_embeddings, parse_instrument, resolve_instrument
from sing.models.fast import FastSING


@pytest.fixture
def model(tiny_model_file: Path):
    return sing.api.load_model(tiny_model_file)


def test_parse_and_resolve(vocabulary):
    assert parse_instrument("guitar_acoustic_009") == "guitar_acoustic_009"
    assert parse_instrument(" a:0.7, b:0.3 ") == {"a": 0.7, "b": 0.3}
    weights = resolve_instrument(vocabulary, "guitar_acoustic_009:3,brass_acoustic_001:1")
    assert weights == ((0, 0.75), (1, 0.25))
    assert resolve_instrument(vocabulary, {"1": 2.0}) == ((1, 1.0),)  # by NSynth id
    assert resolve_instrument(vocabulary, "flute_synthetic_000") == ((2, 1.0),)
    for bad, message in [
        ("guitar_acoustic_009:x", "bad weight 'x'"),
        ("guitar_acoustic_009:-1,brass_acoustic_001:1", "must be >= 0"),
        ("guitar_acoustic_009:0", "sum to 0"),
        ("violin:1,guitar_acoustic_009:1", "unknown instrument 'violin'"),
        (":1", "bad instrument blend"),
    ]:
        with pytest.raises(SingError, match=message):
            resolve_instrument(vocabulary, bad)


def test_blend_embedding_is_the_weighted_mean(model):
    table = model.generator.instrument_embedding.weight.detach()
    rows = blend_embeddings(table, [((0, 1.0),), ((0, 0.5), (2, 0.5)), ((1, 0.25), (2, 0.75))])
    assert torch.equal(rows[0], table[0])
    assert torch.equal(rows[1], torch.stack([table[0], table[2]]).mean(0))
    assert torch.allclose(rows[2], 0.25 * table[1] + 0.75 * table[2])
    assert not torch.allclose(rows[1], table[0])


def test_weight_one_blend_is_bit_identical(model):
    plain = sing.api.synthesize(model, "brass_acoustic_001", 60, 100)
    blended = sing.api.synthesize(model, {"brass_acoustic_001": 1.0}, 60, 100)
    mixed = sing.api.synthesize(model, "brass_acoustic_001:1,guitar_acoustic_009:0", 60, 100)
    assert torch.equal(plain, blended) and torch.equal(plain, mixed)
    # a batch mixing plain notes and blends: the same as the plain batch, bit for bit
    notes = [("brass_acoustic_001", 60, 100), ("flute_synthetic_000", 62, 127)]
    batch = sing.api.synthesize_batch(model, notes + [("brass_acoustic_001:1,"
                                                       "flute_synthetic_000:1", 60, 100)])
    plain_batch = sing.api.synthesize_batch(model, notes + [("guitar_acoustic_009", 60, 100)])
    assert torch.equal(batch[:2], plain_batch[:2])
    half = sing.api.synthesize(model, {"brass_acoustic_001": 1, "flute_synthetic_000": 1}, 60, 100)
    assert torch.allclose(batch[2], half, atol=1e-5)
    assert not torch.allclose(half, plain, atol=1e-4)


def test_fast_path_takes_an_embedding(model):
    table = model.generator.instrument_embedding.weight.detach()
    pitch, velocity = torch.tensor([60, 64, 67]), torch.tensor([3, 3, 4])
    instrument = torch.tensor([0, 1, 2])
    rows = blend_embeddings(table, [((i, 1.0),) for i in range(3)])
    for workers in (1, 2):
        fast = FastSING(model, dtype=torch.float32, workers=workers)
        by_index = fast(instrument, pitch, velocity)
        assert torch.equal(fast(None, pitch, velocity, instrument_embedding=rows), by_index)
        one = fast(None, pitch[:1], velocity[:1], instrument_embedding=rows[:1])  # pipelined
        assert torch.allclose(one, by_index[:1], atol=1e-5)
    mean = blend_embeddings(table, [((0, 0.5), (1, 0.5))])
    want = model(None, pitch[:1], velocity[:1], instrument_embedding=mean)
    got = fast(None, pitch[:1], velocity[:1], instrument_embedding=mean)
    assert torch.allclose(got, want, atol=1e-5)


def test_generate_cli_blend(tiny_model_file: Path, tmp_path: Path):
    out = tmp_path / "out"
    argv = ["generate", "--model", str(tiny_model_file), "--out", str(out), "--pitch", "60",
            "--instrument", "guitar_acoustic_009:0.7,brass_acoustic_001:0.3"]
    assert main(argv) == 0
    (path,) = out.iterdir()
    assert path.name == "guitar_acoustic_009_70+brass_acoustic_001_30-060-100.wav"
    wav, rate = sf.read(path, dtype="float32")
    model = sing.api.load_model(tiny_model_file)
    want = sing.api.synthesize(model, {"guitar_acoustic_009": 0.7, "brass_acoustic_001": 0.3},
                               60, 100)
    # the CLI runs the bf16-free float32 fast path; 16-bit quantisation
    assert rate == 16000 and abs(wav - want.numpy()).max() < 2e-3


def test_report_interpolation_is_the_api_blend(model):
    from sing.evaluation.listening_page import interpolate_instruments

    wavs = interpolate_instruments(model, 0, 2, pitch=60, velocity=3, steps=(0.0, 0.5))
    plain = sing.api.synthesize(model, "guitar_acoustic_009", 60, 100)
    half = sing.api.synthesize(model, "guitar_acoustic_009:1,flute_synthetic_000:1", 60, 100)
    assert torch.allclose(torch.from_numpy(wavs[0]), plain, atol=1e-5)
    assert torch.allclose(torch.from_numpy(wavs[1]), half, atol=1e-5)
