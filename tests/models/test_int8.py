"""int8 generation (sing.models.int8): each quantised op against a NumPy float64 reference of
the quantisation arithmetic, the whole note against float32, and the one generation path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_fast import NOTES, make_model, reference

from sing.dsp import log_power_spectrogram, spectral_loss
from sing.errors import SingError
from sing.models.fast import FastSING
from sing.models.int8 import Int8Linear, Int8LSTM, int8_available

pytestmark = pytest.mark.skipif(not int8_available(), reason="no fbgemm / x86 int8 engine")


def np_quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel symmetric int8: scale = max|row| / 127, q = rint(w / scale)."""
    amax = np.abs(w).max(axis=1)
    scale = np.where(amax > 0, amax / 127, 1.0)
    return np.clip(np.rint(w / scale[:, None]), -127, 127), scale


def np_int8_linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None,
                   row_scaled: bool = False) -> np.ndarray:
    """The int8 product in float64: dynamic affine uint8 activations scaled to 0..127, one
    scale for the whole input; integer sums; rescaled by both scales; plus the bias.
    ``row_scaled``: each row divided by its largest magnitude first and multiplied back after
    (as Int8Linear does)."""
    if row_scaled:
        rows = np.abs(x).max(axis=1, keepdims=True)
        rows = np.where(rows > 0, rows, 1.0)
        return np_int8_linear(x / rows, w, None) * rows + (0 if b is None else b)
    q, w_scale = np_quantize_weight(w)
    lo, hi = min(x.min(), 0.0), max(x.max(), 0.0)
    s = (hi - lo) / 127
    z = np.clip(np.rint(-lo / s), 0, 127)
    xq = np.clip(np.rint(x / s) + z, 0, 255)  # the scale is for 0..127, the clamp uint8's
    acc = (xq - z) @ q.T  # exact integers in float64
    return acc * s * w_scale + (0 if b is None else b)


def assert_quantised_close(got: np.ndarray, want: np.ndarray, fp32: np.ndarray) -> None:
    """got ~ the int8 reference, and clearly apart from the unquantised result."""
    scale = np.abs(want).max()
    error = np.abs(got - want).max()
    apart = np.abs(fp32 - want).max()
    assert error <= 2e-5 * scale, (error, scale)
    assert apart > 100 * error and apart > 1e-3 * scale, (apart, error)  # it did quantise


@pytest.mark.parametrize("relu", [False, True])
def test_int8_linear_against_numpy(relu: bool) -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((48, 40)) * rng.uniform(0.1, 3, (48, 1))  # channels' own scales
    b = rng.standard_normal(48)
    x = rng.standard_normal((23, 40)) * rng.uniform(0.01, 3, (23, 1)) + 0.5  # rows' own scales
    x[5] = 0  # a silent row
    want = np_int8_linear(x, w, b, row_scaled=True)
    fp = x @ w.T + b
    if relu:
        want, fp = np.maximum(want, 0), np.maximum(fp, 0)
    lin = Int8Linear(torch.from_numpy(w).float(), torch.from_numpy(b).float(), relu=relu)
    got = lin(torch.from_numpy(x).float())
    assert got.dtype == torch.float32 and got.shape == (23, 48)
    assert_quantised_close(got.double().numpy(), want, fp)


def test_int8_transposed_conv_gemm_form_against_numpy() -> None:
    """The windowed ConvTranspose1d as the fast path runs it: an int8 GEMM to window-sample
    frames, then the overlap-add (stride, padding, bias), against NumPy and F.conv_transpose1d."""
    model = make_model("tiny")
    fast = FastSING(model, dtype=torch.int8)
    last = model.decoder.layers[-1]
    with torch.no_grad():
        weight = last.windowed_weight().double().numpy()[:, 0, :]  # [C, window]
    bias = last.bias.detach().double().numpy()
    rng = np.random.default_rng(1)
    b, c, n = 2, weight.shape[0], 9
    h = np.maximum(rng.standard_normal((b, c, n)), 0)  # post-ReLU activations
    h *= np.geomspace(1e-3, 1, n)  # a note dying away
    rows = h.transpose(0, 2, 1).reshape(b * n, c)
    pieces = np_int8_linear(rows, weight.T, None, row_scaled=True).reshape(b, n, -1)
    s, pad, window = last.stride[0], last.padding[0], weight.shape[1]
    full = np.zeros((b, (n - 1) * s + window))
    for j in range(n):
        full[:, j * s : j * s + window] += pieces[:, j]
    keep = full.shape[1] - 2 * pad
    want = full[:, pad : pad + keep] + bias
    got_pieces = fast.output(torch.from_numpy(rows).float()).reshape(b, n, -1)
    got = fast.overlap_add(got_pieces, pad, keep)
    fp32 = F.conv_transpose1d(torch.from_numpy(h), torch.from_numpy(weight[:, None, :]),
                              torch.from_numpy(bias), stride=s, padding=pad)[:, 0]
    assert_quantised_close(got.double().numpy(), want, fp32.numpy())


def np_int8_lstm(lstm: torch.nn.LSTM, x: np.ndarray, h0: np.ndarray, c0: np.ndarray
                 ) -> np.ndarray:
    """float64 int8 LSTM: per layer, the input product of all steps at once (one activation
    scale), the recurrent product per step; float gates, cell and hidden state."""

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    layer_in = x
    for layer in range(lstm.num_layers):
        w_ih, w_hh, b_ih, b_hh = (getattr(lstm, f"{name}_l{layer}").detach().double().numpy()
                                  for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        b, steps, width = layer_in.shape
        gx = np_int8_linear(layer_in.reshape(b * steps, width), w_ih, b_ih).reshape(b, steps, -1)
        h, c = h0[layer], c0[layer]
        outs = []
        for t in range(steps):  # the LSTM cell step
            i, f, g, o = np.split(gx[:, t] + np_int8_linear(h, w_hh, b_hh), 4, axis=1)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            outs.append(h)
        layer_in = np.stack(outs, axis=1)
    return layer_in


@pytest.mark.parametrize("steps", [1, 6])
def test_int8_lstm_against_numpy(steps: int) -> None:
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(12, 16, num_layers=2, batch_first=True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, steps, 12))
    h0, c0 = rng.standard_normal((2, 3, 16)) * 0.5, rng.standard_normal((2, 3, 16))
    want = np_int8_lstm(lstm, x, h0, c0)
    state = (torch.from_numpy(h0).float(), torch.from_numpy(c0).float())
    got, (h, c) = Int8LSTM(lstm)(torch.from_numpy(x).float(), state)
    with torch.no_grad():
        fp32 = lstm(torch.from_numpy(x).float(), state)[0].double().numpy()
    assert got.shape == (3, steps, 16) and h.shape == c.shape == (2, 3, 16)
    assert_quantised_close(got.double().numpy(), want, fp32)
    torch.testing.assert_close(h[-1], got[:, -1])


def test_int8_within_one_percent_spectral_loss() -> None:
    model = make_model("small", gain=20.0)
    want = reference(model)
    assert want.abs().max() > 0.2  # a loud note: log-power is not just ~|X|^2
    got = FastSING(model, dtype=torch.int8)(*NOTES)
    assert got.shape == want.shape and got.dtype == torch.float32
    relative = (spectral_loss(got, want) / log_power_spectrogram(want).mean()).item()
    assert 1e-4 < relative < 0.01, relative  # int8 does differ, by less than 1%


def test_int8_through_the_one_generation_path() -> None:
    from sing.generation import Note, choose_backend, generate

    model = make_model("tiny")
    notes = [Note("", int(i), int(p), int(v)) for i, p, v in zip(*NOTES, strict=True)]
    assert choose_backend(torch.device("cpu"), torch.int8, 3, model) == "fast"
    want = FastSING(model, dtype=torch.int8)(*NOTES).clamp(-1, 1)
    for dtype in (torch.int8, "int8"):
        got = generate(model, notes, batch_size=3, dtype=dtype)
        torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
    ranged = generate(model, notes[:1], dtype=torch.int8, ranges=[[(0, 1000)]])
    assert ranged.shape == (1, model.config.note_length) and ranged.abs().max() > 1e-3


def test_int8_refusals() -> None:
    from sing.generation import Note, generate

    model = make_model("tiny")
    note = [Note("", 0, 60, 0)]
    with pytest.raises(SingError, match="int8 generation runs on the fast path only"):
        generate(model, note, dtype=torch.int8, backend="reference")
    with pytest.raises(SingError, match="int8 generation runs on the CPU only, not on meta"):
        generate(model, note, dtype=torch.int8, device="meta")
    assert next(model.parameters()).device.type == "cpu"  # refused before moving the model
