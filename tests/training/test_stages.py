"""The three stages on real GM notes (tiny preset): losses drop, TBPTT windows, the files."""

from __future__ import annotations

import json
import math

import numpy as np
import torch
from train_helpers import run_cli, tensors, train_args

from sing.data.nsynth import NSynthDataset
from sing.models import SING, Autoencoder, SingConfig
from sing.models.io import load_model_file, read_info


def _train_records(run):
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return records, {(r["stage"], r["epoch"]): r for r in records if r["split"] == "train"}


def test_each_stage_lowers_its_loss(reference_run):
    _, train = _train_records(reference_run)
    for stage in ("ae", "seq", "sing"):
        first, last = train[(stage, 0)]["train_loss"], train[(stage, 1)]["train_loss"]
        assert last < first, f"{stage}: {first} -> {last}"
    # the sequence generator learns the frames fast: at least a 30% drop in one epoch
    assert train[("seq", 1)]["train_loss"] < 0.7 * train[("seq", 0)]["train_loss"]
    # end-to-end training improves the spectral distance on the fixed train subset
    assert train[("sing", 1)]["spectral_l1"] < train[("seq", 1)]["spectral_l1"]


def test_tbptt_one_optimizer_step_per_32_step_window(reference_run):
    records, train = _train_records(reference_run)
    config = read_info(reference_run / "model.safetensors").config
    assert config.num_frames == 265
    windows = math.ceil(265 / 32)  # 9: 8 full windows and one of 9 steps
    batches = 2  # 8 notes, batch 4
    assert train[("seq", 0)]["optimizer_steps"] == batches * windows == 18
    assert train[("ae", 0)]["optimizer_steps"] == batches
    assert train[("sing", 0)]["optimizer_steps"] == batches
    # the frames were encoded once, to a memory-mapped float32 file [N, D, L]
    meta = json.loads((reference_run / "frames" / "meta.json").read_text())
    assert meta["shape"] == [8, config.frame_dim, 265]
    frames = np.memmap(reference_run / "frames" / "frames.f32", dtype=np.float32, mode="r",
                       shape=tuple(meta["shape"]))
    assert np.isfinite(frames).all() and np.abs(frames).max() > 0
    # each record once, and a test record at the end
    assert [r["split"] for r in records].count("test") == 1


def test_model_files_carry_vocabulary_and_recipe(reference_run, gm_dataset):
    model, _ = load_model_file(reference_run / "model.safetensors")
    ae, _ = load_model_file(reference_run / "autoencoder.safetensors")
    assert isinstance(model, SING) and isinstance(ae, Autoencoder)
    assert model.vocabulary == NSynthDataset(gm_dataset, split="train").vocabulary
    assert model.config == SingConfig.for_vocabulary(model.vocabulary, "tiny")
    # stage 3 started from the autoencoder's decoder, then moved away from it
    moved = [not torch.equal(a, b) for a, b in zip(model.decoder.state_dict().values(),
                                                   ae.decoder.state_dict().values(), strict=True)]
    assert any(moved)
    info = read_info(reference_run / "model.safetensors")
    recipe = info.recipe
    assert recipe["preset"] == "tiny" and recipe["epochs_seq"] == 2 and recipe["loss"] == "spectral"


def test_zero_epochs_gives_an_untrained_model_of_the_preset(gm_dataset, tmp_path):
    out = tmp_path / "untrained"
    args = train_args(gm_dataset, out, "--loss", "wav", "--no-time-embedding", epochs=0)
    assert run_cli(*args) == 0
    vocab = NSynthDataset(gm_dataset, split="train").vocabulary
    config = SingConfig.for_vocabulary(vocab, "tiny", time_embedding=False)
    torch.manual_seed(3)
    ae = Autoencoder(config, vocab)
    fresh = SING(config, vocab)
    fresh.decoder.load_state_dict(ae.decoder.state_dict())  # stage ae hands its decoder over
    got = tensors(out / "model.safetensors")
    assert got.keys() == fresh.state_dict().keys()
    assert all(torch.equal(got[k], v) for k, v in fresh.state_dict().items())
    assert not (out / "metrics.jsonl").read_text().strip()  # nothing trained, nothing measured
    # rerunning a finished run changes nothing
    before = (out / "model.safetensors").read_bytes()
    assert run_cli(*args) == 0
    assert (out / "model.safetensors").read_bytes() == before


def test_start_from_an_existing_autoencoder(gm_dataset, reference_run, tmp_path):
    out = tmp_path / "from_ae"
    args = train_args(gm_dataset, out, "--stages", "seq", "--init-autoencoder",
                      str(reference_run / "autoencoder.safetensors"), epochs=1)
    assert run_cli(*args) == 0
    ae, model = tensors(reference_run / "autoencoder.safetensors"), tensors(
        out / "model.safetensors")
    decoder = [k for k in model if k.startswith("decoder.")]
    assert decoder and all(torch.equal(model[k], ae[k]) for k in decoder)
    assert not (out / "autoencoder.safetensors").exists()  # stage ae did not run
    records, train = _train_records(out)
    assert set(train) == {("seq", 0)} and records[-1]["split"] == "test"
