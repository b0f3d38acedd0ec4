"""The int8 plan (sing.models.int8_plan): FastSING with some parts in int8, the plan's budget
held on the calibration notes, and the shipped model's int8 generation within 1% of the
log-power on notes the calibration never saw."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_fast import NOTES, make_model

from sing.models.fast import FastSING, int8_part_flops, int8_part_names
from sing.models.int8 import Int8Linear, Int8LSTM, int8_available
from sing.models.int8_plan import calibration_notes, plan_int8, relative_spectral_loss

pytestmark = pytest.mark.skipif(not int8_available(), reason="no fbgemm / x86 int8 engine")

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "sing" / "pretrained" / "gm.safetensors"


def test_part_names_and_flops() -> None:
    model = make_model("small")
    names = int8_part_names(model.config)
    assert names == ("lstm", "frames", "first", "rewrite0", "rewrite1", "output")
    flops = int8_part_flops(model.config)
    c = model.config
    assert flops["output"] == 2 * c.channels * c.window
    assert flops["lstm"] == 8 * c.hidden_size * (c.input_dim + c.hidden_size) + \
        8 * c.hidden_size * 2 * c.hidden_size


def test_some_parts_in_int8() -> None:
    model = make_model("small")
    f32 = FastSING(model, dtype=torch.float32)
    none = FastSING(model, dtype=torch.int8, int8_parts=())
    torch.testing.assert_close(none(*NOTES), f32(*NOTES), rtol=0, atol=1e-6)
    only = FastSING(model, dtype=torch.int8, int8_parts=["output"])
    assert only.int8_parts == {"output"}
    assert isinstance(only.output, Int8Linear) and not isinstance(only.first, Int8Linear)
    assert not isinstance(only.lstm, Int8LSTM)
    # the frames are float32's; the output differs (int8) but little
    torch.testing.assert_close(only.frames(*NOTES), f32.frames(*NOTES), rtol=0, atol=1e-6)
    got, want = only(*NOTES), f32(*NOTES)
    assert 0 < (got - want).abs().max() and relative_spectral_loss(got, want) < 0.01
    with pytest.raises(ValueError, match="unknown int8 parts"):
        FastSING(model, dtype=torch.int8, int8_parts=["decoder"])
    with pytest.raises(ValueError, match="int8_parts is for dtype=torch.int8"):
        FastSING(model, dtype=torch.float32, int8_parts=["output"])


def test_calibration_notes_spread() -> None:
    model = make_model("small")
    c = model.config
    instrument, pitch, velocity = calibration_notes(None, c.num_instruments, c.num_velocities, 32)
    assert instrument.min() == 0 and instrument.max() < c.num_instruments
    assert len(set(instrument.tolist())) == min(32, c.num_instruments)
    assert pitch.min() >= 48 and pitch.max() <= 72 and len(set(pitch.tolist())) >= 20
    assert set(velocity.tolist()) == set(range(c.num_velocities))


def test_plan_holds_its_budget() -> None:
    model = make_model("small", gain=20.0)
    everything = plan_int8(model, notes=8, steps=16)
    names = int8_part_names(model.config)
    assert everything.parts == names and everything.int8_share == 1.0
    assert 0 < everything.error <= everything.budget
    # a budget below the all-int8 error: the plan keeps what fits, measured, within it
    tight = everything.error * 0.6
    plan = plan_int8(model, budget=tight, notes=8, steps=16)
    fast = plan.copy
    assert plan.parts != names and plan.error <= tight
    assert set(plan.alone) == set(names) and all(v > 0 for v in plan.alone.values())
    assert fast.int8_parts == set(plan.parts)
    # re-measured independently, the plan's error is what it says
    c = model.config
    instrument, pitch, velocity = calibration_notes(None, c.num_instruments, c.num_velocities, 8)
    want = FastSING(model, dtype=torch.float32).prefix(instrument, pitch, velocity, 16)
    got = FastSING(model, dtype=torch.int8, int8_parts=plan.parts).prefix(
        instrument, pitch, velocity, 16)
    assert relative_spectral_loss(got, want) == pytest.approx(plan.error, rel=1e-5)
    # every part left out either did not fit alone or did not fit with the ones kept
    assert plan_int8(model, budget=tight, notes=8, steps=16) == plan  # deterministic
    with pytest.raises(ValueError, match="budget must be > 0"):
        plan_int8(model, budget=0)


def test_prefix_is_the_start_of_the_note() -> None:
    model = make_model("small")
    fast = FastSING(model, dtype=torch.float32)
    whole = fast(*NOTES, strip=False)
    prefix = fast.prefix(*NOTES, 24)
    # the decoder's last positions of a prefix lack the frames after it: compare the start
    n = prefix.shape[1] - 2 * model.config.window
    torch.testing.assert_close(prefix[:, :n], whole[:, :n], rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped model")
def test_shipped_model_int8_keeps_the_sound() -> None:
    """Issue 21's check: int8 generation of the shipped model, on whole notes the calibration
    never saw, within 1% of the log-power of the float32 notes."""
    from sing import api
    from sing.generation import fast_copy

    model = api.load_model(SHIPPED)
    fast = fast_copy(model, torch.int8)
    assert fast.int8_parts  # something runs in int8
    assert fast.int8_parts != set(int8_part_names(model.config))  # not everything keeps it
    g = torch.Generator().manual_seed(7)
    v = model.vocabulary
    n = 24
    notes = (torch.randint(0, v.num_instruments, (n,), generator=g),
             torch.randint(v.pitch_min, v.pitch_max + 1, (n,), generator=g),
             torch.randint(0, len(v.velocities), (n,), generator=g))
    want = fast_copy(model, torch.float32)(*notes)
    got = fast(*notes)
    assert 1e-4 < relative_spectral_loss(got, want) < 0.01
    everything = FastSING(model, dtype=torch.int8)(*notes)
    assert relative_spectral_loss(everything, want) > 0.01  # why there is a plan


def test_relative_spectral_loss_short_notes() -> None:
    torch.manual_seed(0)
    want = torch.randn(2, 700) * 0.3
    assert relative_spectral_loss(want, want) == 0.0
    got = want * 1.1
    value = relative_spectral_loss(got, want)  # a 512-point spectrogram: 700 < 1024 samples
    from sing.dsp import log_power_spectrogram, spectral_loss

    expected = (spectral_loss(got, want, n_fft=512, hop=128)
                / log_power_spectrogram(want, n_fft=512, hop=128).mean()).item()
    assert value == pytest.approx(expected) and value > 0.01
