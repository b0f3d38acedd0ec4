"""The fast inference path (sing.models.fast) against the model's own forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sing.dsp import log_power_spectrogram, spectral_loss
from sing.models import SING, SingConfig
from sing.models.fast import FastSING, GemmLinear

NOTES = (
    torch.tensor([0, 3, 7]),  # instrument
    torch.tensor([60, 21, 96]),  # pitch
    torch.tensor([4, 0, 2]),  # velocity
)


def make_model(preset: str, seed: int = 0, gain: float = 1.0, **overrides) -> SING:
    """A randomly initialised model; ``gain`` scales the output layer (louder notes)."""
    torch.manual_seed(seed)
    model = SING(SingConfig.preset(preset, num_instruments=8, **overrides)).eval()
    with torch.no_grad():
        model.decoder.layers[-1].weight.mul_(gain)
        # Spread the time embedding so that the notes change over time.
        if model.generator.time_embedding is not None:
            model.generator.time_embedding.weight.mul_(3.0)
    return model


def reference(model: SING, strip: bool = True) -> torch.Tensor:
    with torch.inference_mode():
        return model(*NOTES, strip=strip)


@pytest.mark.parametrize("preset", ["tiny", "small"])
@pytest.mark.parametrize("strip", [True, False])
def test_float32_matches_model_forward(preset: str, strip: bool) -> None:
    model = make_model(preset)
    want = reference(model, strip)
    got = FastSING(model, dtype=torch.float32)(*NOTES, strip=strip)
    assert got.shape == want.shape
    assert got.dtype == torch.float32
    scale = want.abs().max().item()
    assert scale > 1e-3  # the check below is not vacuous
    torch.testing.assert_close(got, want, rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize("preset", ["tiny", "small"])
@pytest.mark.parametrize(
    ("workers", "lstm_window", "batch"),
    [(1, None, 3), (2, None, 3), (2, None, 1), (2, 7, 1), (3, 5, 2)],  # serial, split, pipelined
)
def test_schedules_match_model_forward(
    preset: str, workers: int, lstm_window: int | None, batch: int
) -> None:
    model = make_model(preset)
    notes = tuple(t[:batch] for t in NOTES)
    with torch.inference_mode():
        want = model(*notes)
    fast = FastSING(model, dtype=torch.float32, workers=workers, lstm_window=lstm_window)
    got = fast(*notes)
    assert got.shape == want.shape == (batch, model.config.note_length)
    torch.testing.assert_close(got, want, rtol=0, atol=2e-5 * want.abs().max().item())


def test_pipeline_failure_is_raised_not_hung() -> None:
    fast = FastSING(make_model("tiny"), dtype=torch.float32, workers=2, lstm_window=4)

    def broken_lstm(*args, **kwargs):
        raise RuntimeError("LSTM exploded")

    fast.lstm = broken_lstm
    with pytest.raises(RuntimeError, match="LSTM exploded"):
        fast(*(t[:1] for t in NOTES))


def test_unpacked_path_matches_packed() -> None:
    """The plain F.linear path (used on CUDA) gives the same notes as the oneDNN-packed one."""
    model = make_model("tiny")
    packed = FastSING(model, dtype=torch.float32, packed=True)(*NOTES)
    plain = FastSING(model, dtype=torch.float32, packed=False)(*NOTES)
    torch.testing.assert_close(plain, packed, rtol=0, atol=1e-6)
    torch.testing.assert_close(plain, reference(model), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "overrides",
    [
        {"note_length": 16000 + 100},  # not a multiple of the stride: zero tail, cut again
        {"window": 512, "stride": 128, "context_size": 5, "rewrite_layers": 0, "note_length": 8000},
        {"rewrite_layers": 3, "time_embedding": False, "note_length": 4000},
    ],
)
def test_lengths_and_geometry(overrides: dict) -> None:
    model = make_model("tiny", **overrides)
    fast = FastSING(model, dtype=torch.float32)
    for strip in (True, False):
        want = reference(model, strip)
        got = fast(*NOTES, strip=strip)
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, rtol=0, atol=2e-5 * want.abs().max().item())
    assert fast(*NOTES).shape == (3, model.config.note_length)


def test_bfloat16_within_one_percent_spectral_loss() -> None:
    model = make_model("small", gain=20.0)
    want = reference(model)
    assert want.abs().max() > 0.2  # a loud note: log-power is not just ~|X|^2
    got = FastSING(model, dtype=torch.bfloat16)(*NOTES)
    assert got.shape == want.shape and got.dtype == torch.float32
    loss = spectral_loss(got, want).item()
    relative = loss / log_power_spectrogram(want).mean().item()
    assert 0 < relative < 0.01, relative  # bf16 does differ, by less than 1%


def numpy_decoder(model: SING, frames: np.ndarray) -> np.ndarray:
    """float64 NumPy decoder: frames [B, D, L] -> [B, decoded_length(L)] (unstripped)."""
    layers = [m for m in model.decoder.layers if hasattr(m, "weight")]
    w0 = layers[0].weight.detach().double().numpy()  # [C, D, k]
    b0 = layers[0].bias.detach().double().numpy()
    c, _, k = w0.shape
    b, _, length = frames.shape
    positions = length - k + 1
    h = np.zeros((b, c, positions))
    for j in range(positions):
        h[:, :, j] = np.einsum("bdk,cdk->bc", frames[:, :, j : j + k], w0) + b0
    h = np.maximum(h, 0)
    for conv in layers[1:-1]:
        w = conv.weight.detach().double().numpy()[:, :, 0]
        bias = conv.bias.detach().double().numpy()[:, None]
        h = np.maximum(np.einsum("oc,bcl->bol", w, h) + bias, 0)
    last = layers[-1]
    n = last.kernel_size[0]
    window = np.sin(np.pi * np.arange(n) / n) ** 4  # periodic Hann, squared
    w = last.weight.detach().double().numpy()[:, 0, :] * window  # [C, window]
    s, pad = last.stride[0], last.padding[0]
    full = np.zeros((b, (positions - 1) * s + n))
    for j in range(positions):
        full[:, j * s : j * s + n] += h[:, :, j] @ w
    return full[:, pad : full.shape[1] - pad] + last.bias.detach().double().numpy()


def test_decoder_against_numpy_float64() -> None:
    model = make_model("tiny", note_length=4000)
    rng = np.random.default_rng(0)
    length = model.config.num_frames
    frames = rng.standard_normal((2, model.config.frame_dim, length))
    want = numpy_decoder(model, frames)
    fast = FastSING(model, dtype=torch.float32)
    got = fast.decode(torch.from_numpy(frames).float(), strip=False)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.double().numpy(), want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_gemm_linear_relu_against_numpy() -> None:
    torch.manual_seed(1)
    weight, bias, x = torch.randn(48, 40), torch.randn(48), torch.randn(7, 40)
    want = np.maximum(x.double().numpy() @ weight.double().numpy().T + bias.double().numpy(), 0)
    got = GemmLinear(weight, bias, torch.float32, relu=True)(x)
    np.testing.assert_allclose(got.double().numpy(), want, rtol=0, atol=1e-5)
    got16 = GemmLinear(weight, bias, torch.bfloat16, relu=True)(x)
    assert got16.dtype == torch.bfloat16
    np.testing.assert_allclose(got16.double().numpy(), want, rtol=0, atol=0.1)


def test_generate_fast_backend_and_bfloat16_model() -> None:
    from sing.generation import Note, generate

    model = make_model("tiny")
    want = reference(model).clamp(-1, 1)
    notes = [Note("", int(i), int(p), int(v)) for i, p, v in zip(*NOTES, strict=True)]
    got = generate(model, notes, batch_size=2, backend="fast")
    torch.testing.assert_close(got, want, rtol=0, atol=2e-5 * want.abs().max().item())
    # A model already cast to bf16 (as `sing generate --dtype bfloat16` does) still works.
    model.to(torch.bfloat16)
    bf16 = FastSING(model, dtype=torch.bfloat16)(*NOTES)
    assert bf16.shape == want.shape and torch.isfinite(bf16).all()


def test_flops_count_skips_cut_positions() -> None:
    model = make_model("tiny")
    fast = FastSING(model, dtype=torch.float32)
    counts = fast.flops_per_note()
    assert counts["total"] == counts["sequence_generator"] + counts["decoder"]
    first, end, _ = fast._positions(model.config.num_frames, strip=True)
    assert 0 < first and end < model.config.num_frames - model.config.context_size + 1


def test_rejects_unsupported_dtype() -> None:
    with pytest.raises(ValueError, match="unsupported dtype"):
        FastSING(make_model("tiny"), dtype=torch.float64)


def test_synthesize_batch_fast_and_reference_backends_agree() -> None:
    from sing.api import synthesize_batch
    from sing.data.vocabulary import Vocabulary

    names = tuple(f"guitar_acoustic_{i:03d}" for i in range(8))
    vocabulary = Vocabulary(
        instruments=names, instrument_ids=tuple(range(8)), families=("guitar",) * 8,
        note_length=4000,
    )
    model = make_model("tiny", note_length=4000)
    model.vocabulary = vocabulary
    notes = ["guitar_acoustic_003-060-025", ("guitar_acoustic_007", 70, 127)]
    plain = synthesize_batch(model, notes, backend="reference")
    fast = synthesize_batch(model, notes, backend="fast")
    assert fast.shape == plain.shape == (2, 4000)
    torch.testing.assert_close(fast, plain, rtol=0, atol=2e-5 * plain.abs().max().item())


def test_workers_do_not_change_other_threads_intra_op_count() -> None:
    import threading

    before = torch.get_num_threads()
    FastSING(make_model("tiny"), dtype=torch.float32, workers=2)(*(t[:1] for t in NOTES))
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert torch.get_num_threads() == before
    assert seen == [before]
