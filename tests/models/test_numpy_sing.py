"""The NumPy network (sing.models.numpy_sing) against the torch SING: one consistency test of
two implementations, blends and decoder masks included, and its loader's refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sing.data.vocabulary import Vocabulary
from sing.errors import SingError
from sing.generation import generate, resolve_notes
from sing.models.config import SingConfig
from sing.models.fast import FastSING
from sing.models.io import save_model
from sing.models.numpy_sing import NumpySING, load_numpy_model, squared_hann
from sing.models.sing import SING
from sing.models.windowed import squared_hann as torch_squared_hann


def _vocabulary(n: int, note_length: int, rate: int = 16000) -> Vocabulary:
    return Vocabulary(instruments=tuple(f"keyboard_acoustic_{i:03d}" for i in range(n)),
                      instrument_ids=tuple(range(n)), families=("keyboard",) * n,
                      velocities=(25, 50, 100), pitch_min=30, pitch_max=90, sample_rate=rate,
                      note_length=note_length)


def _model(seed: int = 0, **overrides) -> SING:
    torch.manual_seed(seed)
    config = SingConfig.preset("tiny", num_instruments=4, num_velocities=3, note_length=4000,
                               **overrides)
    model = SING(config, _vocabulary(4, config.note_length)).eval()
    with torch.no_grad():  # weights loud enough that every layer matters
        for p in model.parameters():
            p.mul_(3.0)
    return model


def test_squared_hann_equals_torch() -> None:
    for n in (16, 1000, 1024):
        np.testing.assert_array_equal(squared_hann(n), torch_squared_hann(n).numpy())


@pytest.mark.parametrize("overrides", [{}, {"time_embedding": False, "num_layers": 3,
                                            "rewrite_layers": 0, "context_size": 5}],
                         ids=["tiny", "variant"])
def test_numpy_network_equals_torch_forward(overrides: dict) -> None:
    model = _model(**overrides)
    copy = NumpySING.from_model(model)
    instrument, pitch, velocity = [0, 3, 1, 2, 3], [30, 61, 90, 45, 72], [0, 2, 1, 2, 0]
    with torch.inference_mode():
        want = model(torch.tensor(instrument), torch.tensor(pitch), torch.tensor(velocity))
        frames, _ = model.generator(torch.tensor(instrument), torch.tensor(pitch),
                                    torch.tensor(velocity))
    got = copy(instrument, pitch, velocity)
    assert got.dtype == np.float32 and got.shape == tuple(want.shape)
    scale = float(want.abs().max())
    assert scale > 0.05  # a signal, not silence
    assert np.abs(got - want.numpy()).max() < 1e-5 * max(1.0, scale)
    np.testing.assert_allclose(copy.frames(instrument, pitch, velocity),
                               frames.transpose(1, 2).numpy(), atol=2e-6, rtol=1e-5)
    # notes differ from each other, so a mix-up of rows would show
    assert np.abs(got[1] - got[4]).max() > 1e-3


def test_blend_and_mask_as_the_fast_path() -> None:
    model = _model(seed=1)
    copy = NumpySING.from_model(model)
    fast = FastSING(model, dtype=torch.float32)
    table = model.generator.instrument_embedding.weight.detach()
    blend = (0.3 * table[0] + 0.7 * table[2])[None].repeat(2, 1)
    ranges = [[(0, 700)], [(1200, 1300), (3000, 4000)]]
    mask = copy.position_mask(ranges)
    np.testing.assert_array_equal(mask, fast.position_mask(ranges).numpy())
    assert 0 < mask.sum() < mask.size
    with torch.inference_mode():
        want = fast(None, torch.tensor([40, 80]), torch.tensor([1, 2]),
                    instrument_embedding=blend, mask=torch.from_numpy(mask)).numpy()
        whole = model(None, torch.tensor([40, 80]), torch.tensor([1, 2]),
                      instrument_embedding=blend).numpy()
    got = copy(None, [40, 80], [1, 2], instrument_embedding=blend.numpy(), mask=mask)
    for i, note in enumerate(ranges):
        for a, b in note:  # inside the ranges: exactly the unmasked note
            np.testing.assert_allclose(got[i, a:b], whole[i, a:b], atol=1e-5)
            np.testing.assert_allclose(got[i, a:b], want[i, a:b], atol=1e-5)


def test_generate_runs_numpy_models_and_the_numpy_backend() -> None:
    model = _model(seed=2)
    notes = resolve_notes(model.vocabulary, [("keyboard_acoustic_001", 60, 100),
                                             ("keyboard_acoustic_000:0.5,keyboard_acoustic_003"
                                              ":0.5", 50, 25)])
    want = generate(model, notes, backend="reference").numpy()
    via_backend = generate(model, notes, backend="numpy")
    assert isinstance(via_backend, torch.Tensor)
    np.testing.assert_allclose(via_backend.numpy(), want, atol=1e-5)
    got = generate(NumpySING.from_model(model), notes, batch_size=1)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, want, atol=1e-5)
    with pytest.raises(SingError, match="float32 on the CPU only"):
        generate(NumpySING.from_model(model), notes, dtype=torch.int8)


def test_loader_reads_float16_files_and_refuses_bfloat16_and_autoencoders(
        tmp_path: Path) -> None:
    model = _model(seed=3)
    half = save_model(tmp_path / "half.safetensors", model, dtype=torch.float16)
    loaded = load_numpy_model(half)
    assert loaded.info is not None and loaded.info.dtype == "F16"
    np.testing.assert_array_equal(
        loaded.pitch_table,
        model.generator.pitch_embedding.weight.detach().half().float().numpy())
    bf16 = save_model(tmp_path / "bf16.safetensors", model, dtype=torch.bfloat16)
    with pytest.raises(SingError, match=r"bf16.safetensors.*stored as BF16"):
        load_numpy_model(bf16)
    from sing.models.autoencoder import Autoencoder

    ae = save_model(tmp_path / "ae.safetensors", Autoencoder(model.config), model.vocabulary)
    with pytest.raises(SingError, match="is a autoencoder model file"):
        load_numpy_model(ae)


def test_loader_refuses_a_nan_weight(tmp_path: Path) -> None:
    model = _model(seed=4)
    with torch.no_grad():
        model.decoder.layers[0].weight[0, 0, 0] = float("nan")
    path = save_model(tmp_path / "nan.safetensors", model)
    with pytest.raises(SingError, match=r"nan.safetensors.*decoder.layers.0.weight holds 1 NaN"):
        load_numpy_model(path)


def test_numpy_loading_imports_no_torch(tmp_path: Path) -> None:
    path = save_model(tmp_path / "m.safetensors", _model(seed=5))
    code = ("import sys; from sing.models.numpy_sing import load_numpy_model; "
            f"m = load_numpy_model({str(path)!r}); w = m([0], [60], [1]); "
            "print(w.shape, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["(1,", "4000)", "False"]
