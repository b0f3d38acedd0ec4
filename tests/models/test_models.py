"""Model shapes, the paper's size, windowed layers, determinism, TBPTT windows, bf16."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from sing.dsp import spectral_loss, wav_mse
from sing.errors import SingError
from sing.models import PRESETS, SING, Autoencoder, SequenceGenerator, SingConfig
from sing.models.windowed import WindowedConv1d, WindowedConvTranspose1d, squared_hann


def _notes(b: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.tensor([0, 1, 2, 0][:b]),
        torch.tensor([60, 72, 40, 21][:b]),
        torch.tensor([0, 4, 2, 3][:b]),
    )


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_parameter_count_and_layers():
    config = SingConfig.preset("paper")
    with torch.device("meta"):
        sing = SING(config)
        ae = Autoencoder(config)
    n = _count(sing)
    assert n == 63_747_983
    assert abs(n - 63.7e6) / 63.7e6 < 0.01
    assert config.input_dim == 30 and config.num_frames == 265
    lstm = sing.generator.lstm
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (30, 1024, 3)
    assert sing.generator.time_embedding.weight.shape == (265, 4)
    first, last = sing.decoder.layers[0], sing.decoder.layers[-1]
    assert first.weight.shape == (4096, 128, 9)
    assert isinstance(last, WindowedConvTranspose1d)
    assert last.weight.shape == (4096, 1, 1024)
    assert (last.stride, last.padding) == ((256,), (768,))
    assert [m.weight.shape for m in sing.decoder.layers if isinstance(m, torch.nn.Conv1d)][1:] == [
        (4096, 4096, 1)
    ] * 2
    enc = ae.encoder.layers
    assert isinstance(enc[0], WindowedConv1d) and enc[0].weight.shape == (4096, 1, 1024)
    assert enc[0].stride == (256,) and enc[-1].weight.shape == (128, 4096, 1)
    # Without the time embedding (the paper's ablation): 26-dim input, 265 * 4 fewer weights.
    ablation = config.replace(time_embedding=False)
    with torch.device("meta"):
        gen = SequenceGenerator(ablation)
    assert gen.time_embedding is None and gen.lstm.input_size == 26
    assert _count(sing.generator) - _count(gen) == 265 * 4 + 4 * 4 * 1024


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_shapes_and_lengths(preset):
    config = SingConfig.preset(preset, note_length=8192, num_instruments=3)
    torch.manual_seed(0)
    sing, ae = SING(config), Autoencoder(config)
    inst, pitch, vel = _notes(2)
    with torch.no_grad():
        frames, (h, c) = sing.generator(inst, pitch, vel)
        assert frames.shape == (2, config.frame_dim, config.num_frames)
        assert h.shape == c.shape == (config.num_layers, 2, config.hidden_size)
        assert sing.decoder(frames).shape == (2, 8192 + config.window)
        assert sing(inst, pitch, vel).shape == (2, 8192)
        assert sing(inst, pitch, vel, strip=False).shape == (2, 8192 + config.window)
        wav = torch.randn(2, 8192)
        assert ae.encode(wav).shape == (2, config.frame_dim, config.num_frames)
        assert ae(wav).shape == (2, 8192)


def test_presets_are_valid_and_overridable():
    assert set(PRESETS) >= {"paper", "small", "tiny"}
    tiny = SingConfig.preset("tiny", num_instruments=7)
    assert tiny.num_instruments == 7 and tiny.hidden_size == 64
    assert SingConfig.from_json(tiny.to_json()) == tiny
    with pytest.raises(SingError, match="unknown preset 'huge'"):
        SingConfig.preset("huge")
    with pytest.raises(SingError, match="unknown config field"):
        SingConfig.preset("tiny", hiden_size=3)
    with pytest.raises(SingError, match="must be an integer"):
        SingConfig.preset("tiny", hidden_size="64")


def test_windowed_layers_apply_the_squared_hann_at_every_forward():
    torch.manual_seed(0)
    window = squared_hann(16, torch.float64)
    n = torch.arange(16, dtype=torch.float64)
    torch.testing.assert_close(window, torch.sin(torch.pi * n / 16) ** 4)
    conv = WindowedConv1d(1, 3, 16, stride=4)
    tconv = WindowedConvTranspose1d(3, 1, 16, stride=4, padding=12)
    x = torch.randn(2, 1, 64)
    frames = torch.randn(2, 3, 10)
    with torch.no_grad():
        conv.weight.mul_(2.0)  # a changed weight is windowed again at the next forward
        tconv.weight.add_(1.0)
    w32 = window.float()
    torch.testing.assert_close(conv(x), F.conv1d(x, conv.weight * w32, conv.bias, stride=4))
    torch.testing.assert_close(
        tconv(frames),
        F.conv_transpose1d(frames, tconv.weight * w32, tconv.bias, stride=4, padding=12),
    )
    # The gradient of the raw weight carries the window; the window is not a learned weight.
    tconv(frames).sum().backward()
    assert torch.all(tconv.weight.grad[..., 0] == 0)
    assert "window" not in tconv.state_dict()
    assert [name for name, _ in tconv.named_parameters()] == ["weight", "bias"]


def test_determinism():
    config = SingConfig.preset("tiny", note_length=4096, num_instruments=3)
    torch.manual_seed(1)
    a = SING(config)
    torch.manual_seed(1)
    b = SING(config)
    with torch.no_grad():
        first = a(*_notes())
        assert torch.equal(first, a(*_notes()))
        assert torch.equal(first, b(*_notes()))
        # A note does not depend on the others in its batch.
        torch.testing.assert_close(a(*_notes(1)), first[:1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("time_embedding", [True, False])
def test_tbptt_windows_equal_one_full_pass(time_embedding):
    config = SingConfig.preset(
        "tiny", note_length=16000, num_instruments=3, time_embedding=time_embedding
    )
    torch.manual_seed(0)
    gen = SequenceGenerator(config)
    notes = _notes()
    full, full_state = gen(*notes)
    windows, state = [], None
    for start in range(0, config.num_frames, 32):
        length = min(32, config.num_frames - start)
        out, state = gen(*notes, start=start, length=length, state=state)
        state = tuple(s.detach() for s in state)  # as truncated BPTT does
        windows.append(out)
    torch.testing.assert_close(torch.cat(windows, dim=2), full, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state[0], full_state[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="outside the"):
        gen(*notes, start=config.num_frames - 1, length=2)


def test_bfloat16_close_to_float32():
    config = SingConfig.preset("tiny", note_length=16000, num_instruments=3)
    torch.manual_seed(0)
    model = SING(config).eval()
    with torch.inference_mode():
        ref = model(*_notes())
        low = copy.deepcopy(model).to(torch.bfloat16)(*_notes())
    assert low.dtype == torch.bfloat16
    distance = spectral_loss(ref, low.float()).item()
    scale = spectral_loss(ref, torch.zeros_like(ref)).item()
    assert distance < 0.01 * scale


def test_sing_learns_a_note():
    """A tiny SING fits one note end to end (waveform MSE; the spectral loss follows).

    (From an untrained, near-silent output the spectral loss alone has vanishing gradients,
    which is why the paper initialises SING from stages 1 and 2.)
    """
    config = SingConfig.preset("tiny", note_length=4096, num_instruments=3)
    torch.manual_seed(0)
    model = SING(config)
    t = torch.arange(4096) / 16000
    target = (0.3 * torch.sin(2 * torch.pi * 220 * t)).unsqueeze(0)
    silence = spectral_loss(torch.zeros_like(target), target).item()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = wav_mse(model(*_notes(1)), target).item()
    for _ in range(150):
        opt.zero_grad()
        loss = wav_mse(model(*_notes(1)), target)
        loss.backward()
        opt.step()
    with torch.no_grad():
        out = model(*_notes(1))
    assert wav_mse(out, target).item() < 0.01 * first
    assert spectral_loss(out, target).item() < 0.2 * silence
