"""Loading a model file skips the random initialisation (issue 9, cold start): the modules are
built with ``torch.nn.init`` made a no-op, then every weight comes from the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch.nn import init

from sing.data.vocabulary import Vocabulary
from sing.models import SING, Autoencoder, SingConfig
from sing.models.io import load_model_file, save_model, skip_random_init
from sing.models.windowed import squared_hann

VOCAB = Vocabulary(instruments=("a", "b", "c"), instrument_ids=(1, 2, 3),
                   families=("keyboard", "string", "flute"), pitch_min=40, pitch_max=80,
                   note_length=16000)


@pytest.mark.parametrize("kind", [SING, Autoencoder])
@pytest.mark.parametrize("dtype", [None, torch.float16])
def test_loaded_weights_are_the_files_bit_for_bit(tmp_path: Path, kind: type,
                                                  dtype: torch.dtype | None) -> None:
    torch.manual_seed(3)
    model = kind(SingConfig.for_vocabulary(VOCAB, "tiny"), VOCAB)
    path = save_model(tmp_path / "m.safetensors", model, dtype=dtype)
    stored = load_file(str(path))
    assert {t.dtype for t in stored.values()} == {dtype or torch.float32}

    rng = torch.get_rng_state()
    loaded, _ = load_model_file(path)
    assert torch.equal(torch.get_rng_state(), rng)  # no random number was drawn

    state = loaded.state_dict()
    assert set(state) == set(stored)
    for name, tensor in stored.items():
        assert state[name].dtype == torch.float32
        assert torch.equal(state[name], tensor.float()), name  # bit-identical to the file
        if dtype is None:
            assert torch.equal(state[name], model.state_dict()[name]), name
    # the non-persistent window is computed, not loaded (and not left uninitialised)
    windows = [m.window for m in loaded.modules() if hasattr(m, "window")]
    assert windows and all(torch.equal(w, squared_hann(w.numel())) for w in windows)
    wav = loaded(torch.tensor([0]), torch.tensor([60]), torch.tensor([2])) if kind is SING \
        else loaded(torch.zeros(1, 16000))
    assert torch.isfinite(wav).all()


def test_init_is_restored_after_the_context() -> None:
    originals = (init.uniform_, init.normal_, init.kaiming_uniform_)
    with skip_random_init():
        assert init.uniform_ is not originals[0]
        torch.manual_seed(0)
        rng = torch.get_rng_state()
        torch.nn.LSTM(4, 8)
        torch.nn.Embedding(5, 3)
        torch.nn.Conv1d(2, 2, 3)
        assert torch.equal(torch.get_rng_state(), rng)
    assert (init.uniform_, init.normal_, init.kaiming_uniform_) == originals
    rng = torch.get_rng_state()
    torch.nn.Linear(4, 4)
    assert not torch.equal(torch.get_rng_state(), rng)  # initialised again


def test_init_is_restored_after_an_error() -> None:
    original = init.normal_
    with pytest.raises(RuntimeError), skip_random_init():
        raise RuntimeError("boom")
    assert init.normal_ is original


def test_another_thread_still_initialises_while_one_skips() -> None:
    """Loading a model in one thread must not leave a model built for training in another
    thread uninitialised."""
    import threading

    inside, done = threading.Event(), threading.Event()
    seen: dict[str, torch.Tensor] = {}

    def loader() -> None:
        with skip_random_init():
            seen["skipped"] = init.normal_(torch.zeros(4))  # this thread: left as it is
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=loader)
    thread.start()
    try:
        assert inside.wait(10)
        assert init.normal_ is not torch.nn.init.normal_.__wrapped__  # patched meanwhile
        torch.manual_seed(0)
        during = torch.nn.Linear(4, 4).weight.detach().clone()
    finally:
        done.set()
        thread.join()
    torch.manual_seed(0)
    after = torch.nn.Linear(4, 4).weight.detach().clone()
    assert torch.equal(seen["skipped"], torch.zeros(4))
    assert torch.equal(during, after) and during.abs().sum() > 0  # initialised as usual


def test_nested_skips_restore_once() -> None:
    original = init.uniform_
    with skip_random_init():
        with skip_random_init():
            assert torch.equal(init.uniform_(torch.zeros(3)), torch.zeros(3))
        assert torch.equal(init.uniform_(torch.zeros(3)), torch.zeros(3))  # still skipping
    assert init.uniform_ is original
    assert init.uniform_(torch.zeros(3), 1, 2).min() >= 1
