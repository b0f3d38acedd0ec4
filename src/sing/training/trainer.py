"""The paper's three training stages, resumable at any step, ready for ``torchrun``.

1. ``ae``: the autoencoder (encoder + decoder) on waveforms, spectral (or waveform) loss.
2. ``seq``: the sequence generator matches the frozen encoder's frames of the train set
   (encoded once, memory-mapped on disk), MSE, truncated back-propagation over windows of 32
   steps: one optimizer step per window, the LSTM state carried and detached.
3. ``sing``: sequence generator + decoder end to end, spectral (or waveform) loss.

Everything a run needs to continue lives in ``RUN_DIR/checkpoint.pt`` (see
:mod:`sing.training.checkpoint`); rerunning the same command continues where it stopped, with
bit-identical results on CPU. :func:`train` is the library entry point of ``sing train``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sing.errors import SingError, describe_os_error
from sing.training import distributed as dist_
from sing.training.checkpoint import (
    capture_rng_state,
    check_signature,
    damaged_checkpoint,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from sing.training.config import STAGES, TrainConfig
from sing.training.metrics import MetricsLog
from sing.training.sampler import ResumableBatchSampler, epoch_order, num_batches
from sing.training.shards import ShardedGradient, ShardLoss, default_shards, single_threaded
from sing.training.signals import StopRequest, catch_stop_signals
from sing.training.validation import loss_sums, metrics_from_sums

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
AUTOENCODER_FILE = "autoencoder.safetensors"
MODEL_FILE = "model.safetensors"
FRAMES_DIR = "frames"
#: Stage 2's windows, computed whole in the calling thread.
_ONE_SHARD = ShardedGradient(1)
_STAGE_TITLES = {"ae": "autoencoder", "seq": "sequence generator", "sing": "SING end to end"}



@dataclass
class Position:
    """Where a run is, saved in its checkpoint and restored whole.

    Attributes:
        stage_index: index into ``STAGES`` of the stage running (``len(STAGES)``: all done).
        epoch: epoch in that stage. step: global batch in that epoch.
        order: the epoch's shuffled note order (None: not drawn yet).
        epoch_loss: [sum of note losses, notes] of this epoch so far.
        optimizer_steps: optimizer steps of this epoch so far.
        done: the model file is written.
        clock: seconds of training so far: [wall clock, process CPU time].
        shards: the shards a batch of stages 1 and 3 is computed as (0: not chosen yet; a
            checkpoint without the entry was computed as one).
    """

    stage_index: int = 0
    epoch: int = 0
    step: int = 0
    order: list[int] | None = None
    epoch_loss: list = field(default_factory=lambda: [0.0, 0])
    optimizer_steps: int = 0
    done: bool = False
    clock: list = field(default_factory=lambda: [0.0, 0.0])
    shards: int = 0

    def to_state(self) -> dict[str, Any]:
        """The checkpoint's entries (the keys checkpoints have always had)."""
        return {
            "stage": self.stage_index, "epoch": self.epoch, "step": self.step,
            "order": None if self.order is None else torch.tensor(self.order, dtype=torch.int64),
            "epoch_loss": list(self.epoch_loss), "optimizer_steps": self.optimizer_steps,
            "done": self.done, "clock": list(self.clock), "shards": self.shards,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Position:
        """The position a checkpoint holds (KeyError/TypeError/ValueError when damaged)."""
        return cls(
            stage_index=int(state["stage"]), epoch=int(state["epoch"]), step=int(state["step"]),
            order=None if state["order"] is None else state["order"].tolist(),
            epoch_loss=[float(state["epoch_loss"][0]), int(state["epoch_loss"][1])],
            optimizer_steps=int(state["optimizer_steps"]), done=bool(state["done"]),
            clock=[float(x) for x in state.get("clock", (0.0, 0.0))],
            shards=int(state.get("shards", 1)),
        )


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM stopped the run after a checkpoint; rerun the command to resume."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        self.signum = signum
        self.checkpoint = checkpoint
        super().__init__(f"stopped by signal {signum}; checkpoint written to {checkpoint}; "
                         "rerun the same command to resume")


def train(config: TrainConfig) -> Path:
    """Run (or resume) a training run; returns the path of the model file it wrote.

    ``RUN_DIR/model.safetensors`` is a SING model file carrying the vocabulary and the recipe
    (``RUN_DIR/autoencoder.safetensors`` when only stage ``ae`` runs). Works alone or under
    ``torchrun`` (DistributedDataParallel; only rank 0 writes).

    Raises:
        SingError: bad options or data (one line), or a NaN/inf loss (last checkpoint kept).
        TrainingInterrupted: SIGINT/SIGTERM; a checkpoint was written first.
    """
    config.validate()
    info = dist_.env_info()
    device = dist_.resolve_device(config.device, info)
    info = dist_.setup(device)
    if not info.is_main:  # only rank 0 talks
        logging.getLogger("sing").setLevel(logging.WARNING)
    try:
        with catch_stop_signals() as stop, _run_lock(config.out, info):
            return Trainer(config, info, device, stop).run()
    finally:
        dist_.teardown()


def _run_lock(out: Path, info: dist_.DistInfo):
    """The lock of the run folder (rank 0): a second `sing train` into it fails at once."""
    import contextlib

    from sing.utils.atomic import check_folder_path, make_folder
    from sing.utils.lock import exclusive

    if not info.is_main:
        return contextlib.nullcontext()
    check_folder_path(out)
    make_folder(out.parent)
    return exclusive(out)


def _check_run_dir(out: Path) -> None:
    """Make sure ``out`` is a folder we can write into (one clear line otherwise)."""
    from sing.utils.atomic import make_folder

    make_folder(out)  # "X: is a file, not a folder" when a file is in the way
    try:
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe.", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise SingError(f"cannot write the run folder: {describe_os_error(err)}", out) from None


def _frozen(name: str, prefixes: tuple[str, ...]) -> bool:
    """Whether parameter ``name`` is under one of the ``--freeze`` prefixes (whole parts:
    ``decoder`` freezes ``decoder.layers.0.weight``, not ``decoderx``)."""
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class Trainer:
    """One training run: data, models, position (stage, epoch, step) and the checkpoint."""

    def __init__(self, config: TrainConfig, info: dist_.DistInfo, device: torch.device,
                 stop: StopRequest) -> None:
        from sing.models import SING, Autoencoder, SingConfig

        self.config = config
        self.info = info
        self.device = device
        self.stop = stop
        self.out = config.out
        self.ckpt_path = self.out / CHECKPOINT_FILE
        self.progress = config.progress and info.is_main
        if config.batch_size < info.world_size:
            raise SingError(f"--batch-size {config.batch_size} is smaller than the "
                            f"{info.world_size} processes (it is the global batch)")
        self.train_set, self.valid_set, self.test_set = self._load_data()
        _check_run_dir(self.out)
        if info.is_main:  # temporaries of a killed run (we hold the run folder's lock)
            from sing.utils.atomic import remove_stale_temporaries

            remove_stale_temporaries(self.out)
        self.vocabulary = self.train_set.vocabulary
        self.model_config = SingConfig.for_vocabulary(
            self.vocabulary, config.preset, time_embedding=config.time_embedding)
        self.signature = {**config.signature(), "model": self.model_config.to_json(),
                          "train_notes": len(self.train_set),
                          "data": self.training_data["fingerprint"]}
        _seed_everything(config.seed)
        self.autoencoder = Autoencoder(self.model_config, self.vocabulary).to(device)
        self.sing = SING(self.model_config, self.vocabulary).to(device)
        self.position = Position()  # where the run is; saved and restored whole
        self.transfer: dict[str, Any] | None = None  # what --init-from did (model recipe)
        self.optimizer_state: dict[str, Any] | None = None
        records: list[dict[str, Any]] = []
        if self.ckpt_path.exists():
            state = load_checkpoint(self.ckpt_path)
            try:
                records = self._restore(state)
            except (KeyError, TypeError, ValueError, RuntimeError, IndexError,
                    AttributeError) as err:  # loaded, but not the layout of our checkpoints
                raise damaged_checkpoint(self.ckpt_path, err) from None
        else:
            if config.resume:
                raise SingError("--resume: no checkpoint to resume from", self.ckpt_path)
            self._apply_init_files()
        self._check_stage_inputs()
        self._check_freeze()
        self.position.shards = self._resolve_shards()
        self.sharded = ShardedGradient(self.position.shards)
        self.metrics = MetricsLog(self.out, records, enabled=info.is_main)
        self.last_checkpoint = time.monotonic()

    # -- setup ------------------------------------------------------------------------------
    def _resolve_shards(self) -> int:
        """The shards of a batch: ``--shards``, else the checkpoint's, else one per torch CPU
        thread on the CPU within the gradient copies' memory (:func:`default_shards`; 1 on
        CUDA and under torchrun, whose processes are the shards)."""
        given, kept = self.config.shards, self.position.shards
        if given is not None and self.info.distributed and given > 1:
            raise SingError(f"--shards {given} cannot be combined with torchrun's "
                            f"{self.info.world_size} processes (each process is a shard: "
                            "leave --shards out)")
        if given is not None:
            shards = given
        elif kept > 0:
            shards = kept
        elif self.info.distributed or self.device.type != "cpu":
            shards = 1
        else:
            size = max(sum(p.numel() * p.element_size() for p in m.parameters())
                       for m in (self.sing, self.autoencoder))
            shards = default_shards(torch.get_num_threads(), size)
        if kept > 0 and shards != kept and self.info.is_main:
            logger.info(f"--shards {shards}: the checkpoint was computed as {kept} shard(s); "
                        "the run goes on with other float rounding")
        logger.debug(f"stages ae and sing: each batch as {shards} shard(s)")
        return shards

    def _load_data(self):
        from sing.data.fingerprint import training_data
        from sing.data.nsynth import NoteSubset, NSynthDataset

        data = self.config.data
        if not data.is_dir():
            raise SingError("no such data set folder" if not data.exists() else "not a folder",
                            data)
        sets = []
        for offset, split in enumerate(("train", "valid", "test")):
            ds = NSynthDataset(data, split=split)
            if split == "train":  # recorded in the model files and checkpoints
                self.training_data = training_data(data, ds.names, ds.vocabulary.note_length)
            if self.config.max_notes is not None and len(ds) > self.config.max_notes:
                keep = sorted(epoch_order(len(ds), self.config.seed, -1 - offset)
                              [: self.config.max_notes])
                ds = NoteSubset(ds, keep)
            sets.append(ds)
        if len(sets[0]) == 0:
            raise SingError("the split has no train notes", data / "split.json")
        if len(sets[0]) < self.info.world_size:
            raise SingError(f"{len(sets[0])} train notes cannot feed {self.info.world_size} "
                            "processes", data / "split.json")
        return sets

    def _load_model_file(self, path: Path, kind: str) -> nn.Module:
        from sing.models.io import load_model_file

        model, _ = load_model_file(path, device=self.device, kind=kind)
        if model.config != self.model_config:
            raise SingError(f"its model config differs from preset '{self.config.preset}' "
                            "sized for this data set", path)
        if model.vocabulary is not None and model.vocabulary != self.vocabulary:
            raise SingError("its vocabulary differs from this data set's", path)
        return model

    def _apply_init_files(self) -> None:
        cfg = self.config
        if cfg.init_autoencoder is not None:
            ae = self._load_model_file(cfg.init_autoencoder, "autoencoder")
            self.autoencoder.load_state_dict(ae.state_dict())
            self.sing.decoder.load_state_dict(self.autoencoder.decoder.state_dict())
        if cfg.init_model is not None:
            model = self._load_model_file(cfg.init_model, "sing")
            self.sing.load_state_dict(model.state_dict())
        if cfg.init_from is not None:
            self._init_from(cfg.init_from)

    def _init_from(self, path: Path) -> None:
        """Start SING (and the autoencoder's decoder) from a model of another vocabulary."""
        from sing.models.io import load_model_file
        from sing.models.transfer import SHIPPED, transfer_weights

        if path == Path(SHIPPED) and not path.exists():
            from sing.pretrained import shipped_model_path

            path = shipped_model_path()
        source, _ = load_model_file(path, device=self.device, kind="sing")
        report = transfer_weights(source, self.sing, path, preset=self.config.preset)
        self.autoencoder.decoder.load_state_dict(self.sing.decoder.state_dict())
        self.transfer = {k: v for k, v in report.to_json().items() if k != "copied"}
        self.transfer["copied"] = len(report.copied)
        if self.info.is_main:
            rows = ", ".join(f"{k}: {v}" for k, v in report.instruments.items())
            logger.info(f"started from {path} ({len(report.copied)} weights copied; "
                        f"instruments {rows})")

    def _check_stage_inputs(self) -> None:
        cfg = self.config
        if ("seq" in cfg.stages and cfg.epochs_seq > 0 and "ae" not in cfg.stages
                and cfg.init_autoencoder is None):
            raise SingError("stage seq learns the encoder's frames: run stage ae too, or give "
                            "--init-autoencoder FILE")
        if (self.info.is_main and "sing" in cfg.stages and not {"ae", "seq"} & set(cfg.stages)
                and cfg.init_model is None and cfg.init_autoencoder is None
                and cfg.init_from is None):
            logger.warning("stage sing alone starts from an untrained network; give "
                           "--init-model FILE, --init-from FILE (another vocabulary) or "
                           "--init-autoencoder FILE to fine-tune")

    def _named_parameters(self, stage: str) -> list[tuple[str, nn.Parameter]]:
        """The parameters stage ``stage`` trains, by their names in SING (the encoder's in the
        autoencoder), the ``freeze`` prefixes left out."""
        if stage == "ae":
            named = list(self.autoencoder.named_parameters())
        elif stage == "seq":
            named = [(f"generator.{n}", p) for n, p in self.sing.generator.named_parameters()]
        else:
            named = list(self.sing.named_parameters())
        return [(n, p) for n, p in named if not self._is_frozen(n)]

    def _is_frozen(self, name: str) -> bool:
        """Whether no stage trains parameter ``name`` (``--freeze`` / ``--train-only``)."""
        cfg = self.config
        return _frozen(name, cfg.freeze) or bool(cfg.train_only and not _frozen(name,
                                                                               cfg.train_only))

    def _check_freeze(self) -> None:
        names = [n for n, _ in self.sing.named_parameters()]
        names += [n for n, _ in self.autoencoder.named_parameters()]
        for flag, prefixes in (("--freeze", self.config.freeze),
                               ("--train-only", self.config.train_only)):
            unknown = [p for p in prefixes if not any(_frozen(n, (p,)) for n in names)]
            if unknown:
                raise SingError(f"{flag} {','.join(unknown)}: no such parameters (prefixes of: "
                                "generator.instrument_embedding, generator.pitch_embedding, "
                                "generator.velocity_embedding, generator.time_embedding, "
                                "generator.lstm, generator.output, decoder, encoder)")
        for stage in self.config.stages:
            if self._stage_epochs(stage) > 0 and not self._named_parameters(stage):
                what = (f"--freeze {','.join(self.config.freeze)}" if self.config.freeze
                        else f"--train-only {','.join(self.config.train_only)}")
                raise SingError(f"{what} leaves stage {stage} nothing to train")
        for model in (self.sing, self.autoencoder):  # no gradients computed for them
            for name, param in model.named_parameters():
                if self._is_frozen(name):
                    param.requires_grad_(False)

    def _restore(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        check_signature(self.ckpt_path, state.get("signature", {}), self.signature)
        self.autoencoder.load_state_dict(state["models"]["autoencoder"])
        self.sing.load_state_dict(state["models"]["sing"])
        self.position = Position.from_state(state)
        self.transfer = state.get("transfer")
        self.optimizer_state = state["optimizer"]
        restore_rng_state(state["rng"])
        if self.info.is_main:
            if self.position.done:
                where = "finished"
            elif self.position.stage_index >= len(STAGES):  # killed after the last checkpoint
                where = "every stage trained; the model file is still to write"
            else:
                pos = self.position
                where = f"stage {STAGES[pos.stage_index]}, epoch {pos.epoch + 1}, batch {pos.step}"
            logger.info(f"resuming {self.ckpt_path} ({where})")
        return list(state["metrics"])

    # -- checkpoint ---------------------------------------------------------------------------
    def _save(self, optimizer: torch.optim.Optimizer | None = None) -> None:
        """Write the checkpoint (rank 0), atomically; the previous one survives a failure."""
        self.last_checkpoint = time.monotonic()
        if not self.info.is_main:
            return

        def cpu(module: nn.Module) -> dict[str, torch.Tensor]:
            return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}

        opt_state = optimizer.state_dict() if optimizer is not None else self.optimizer_state
        state = {
            "signature": self.signature,
            **self.position.to_state(),
            "optimizer": opt_state,
            "models": {"autoencoder": cpu(self.autoencoder), "sing": cpu(self.sing)},
            "rng": capture_rng_state(),
            "metrics": list(self.metrics.records),
            "vocabulary": self.vocabulary.to_json(),
        }
        if self.transfer is not None:
            state["transfer"] = self.transfer
        save_checkpoint(self.ckpt_path, state)

    def _write_model(self, model: nn.Module, name: str) -> Path:
        from sing.models.io import save_model

        path = self.out / name
        recipe = self.config.recipe()
        recipe["shards"] = self.position.shards
        if self.transfer is not None:
            recipe["transfer"] = self.transfer
        if self.info.is_main:
            save_model(path, model, self.vocabulary, recipe,
                       training_data=self.training_data)
        return path

    # -- the run ------------------------------------------------------------------------------
    def run(self) -> Path:
        """Run the remaining stages, evaluate on test, write the model file."""
        try:
            return self._run()
        finally:
            self.sharded.close()

    def _run(self) -> Path:
        cfg = self.config
        final_name = MODEL_FILE if set(cfg.stages) != {"ae"} else AUTOENCODER_FILE
        if self.position.done:
            logger.info(f"{self.out} is already trained (use another --out to train again)")
            return self.out / final_name
        if self.info.is_main:
            logger.info(
                f"training {','.join(cfg.stages)} ({cfg.preset} preset, "
                f"{len(self.train_set)} train notes, batch {cfg.batch_size}, {self.device}, "
                f"{self.info.world_size} process(es), {self.position.shards} shard(s) a batch) "
                f"into {self.out}")
        while self.position.stage_index < len(STAGES):
            stage = STAGES[self.position.stage_index]
            if stage in cfg.stages:
                self._run_stage(stage)
            self._finish_stage(stage)
        final: nn.Module = self.sing if final_name == MODEL_FILE else self.autoencoder
        if sum(self._stage_epochs(s) for s in cfg.stages) > 0 and len(self.test_set) > 0:
            if not any(r.get("split") == "test" for r in self.metrics.records):
                record = self._evaluate(final, self.test_set, range(len(self.test_set)), "test")
                self.metrics.log({"stage": "final", "epoch": 0, "split": "test",
                                  "model": final.kind, **record})
        if final_name == MODEL_FILE:
            path = self._write_model(final, final_name)
        else:  # an autoencoder-only run: its file was written when stage "ae" finished
            path = self.out / final_name
        self.position.done = True
        self._save()
        self.metrics.close()
        return path

    def _finish_stage(self, stage: str) -> None:
        if stage == "ae" and "ae" in self.config.stages:
            self.sing.decoder.load_state_dict(self.autoencoder.decoder.state_dict())
            self._write_model(self.autoencoder, AUTOENCODER_FILE)
        self.position.stage_index += 1
        self.position.epoch, self.position.step, self.position.order = 0, 0, None
        self.optimizer_state = None
        self.position.epoch_loss, self.position.optimizer_steps = [0.0, 0], 0
        self._save()

    def _stage_epochs(self, stage: str) -> int:
        return {"ae": self.config.epochs_ae, "seq": self.config.epochs_seq,
                "sing": self.config.epochs_sing}[stage]

    def _run_stage(self, stage: str) -> None:
        epochs = self._stage_epochs(stage)
        if self.position.epoch >= epochs:
            return
        module: nn.Module = {"ae": self.autoencoder, "seq": self.sing.generator,
                             "sing": self.sing}[stage]
        cache = self._frames_cache() if stage == "seq" else None
        params = [p for _, p in self._named_parameters(stage)]
        optimizer = torch.optim.Adam(params, lr=self.config.lr)
        if self.optimizer_state is not None:
            optimizer.load_state_dict(self.optimizer_state)
        wrapped = module
        if self.info.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(module, device_ids=ids)
        if self.info.is_main and self.position.epoch == 0 and self.position.step == 0:
            logger.info(f"stage {stage}: {_STAGE_TITLES[stage]}, {epochs} epoch(s)")
        module.train()
        while self.position.epoch < epochs:
            if self.position.order is None:
                self.position.order = epoch_order(
                    len(self.train_set), self.config.seed + 1009 * self.position.stage_index,
                    self.position.epoch)
            self._train_epoch(stage, wrapped, optimizer, cache, epochs)
            self._end_epoch(stage, optimizer)
        self.optimizer_state = None

    def _frames_cache(self):
        from sing.training.frames_cache import EncodingStopped, build_frames_cache

        folder = self.out / FRAMES_DIR
        if int(os.environ.get("LOCAL_WORLD_SIZE", self.info.world_size)) < self.info.world_size:
            # several nodes: each node's local rank 0 writes its own copy (RUN_DIR may be shared)
            folder = self.out / f"{FRAMES_DIR}-node{os.environ.get('GROUP_RANK', '0')}"
        if self.info.local_rank == 0:
            try:
                cache = build_frames_cache(folder, self.autoencoder, self.train_set, self.device,
                                           batch_size=max(1, min(self.config.batch_size, 32)),
                                           progress=self.progress, stop=lambda: bool(self.stop))
            except EncodingStopped:
                import signal

                self._save()  # at the start of stage 2: a rerun encodes again and goes on
                raise TrainingInterrupted(self.stop.signum or signal.SIGTERM,
                                          self.ckpt_path) from None
        dist_.barrier()
        if self.info.local_rank != 0:
            cache = build_frames_cache(folder, self.autoencoder, self.train_set, self.device,
                                       write=False)
        expected = (len(self.train_set), self.model_config.frame_dim,
                    self.model_config.num_frames)
        if tuple(cache.shape) != expected:
            raise RuntimeError(f"encoded frames have shape {cache.shape}, expected {expected}")
        return cache

    def _batches(self, stage: str, sampler: ResumableBatchSampler, cache) -> Iterator[dict]:
        if stage == "seq":
            for indices in sampler:
                yield cache.batch(indices)
            return
        from torch.utils.data import DataLoader

        from sing.data.nsynth import collate_notes

        workers = self.config.num_workers
        if workers is None:
            workers = 4 if self.device.type == "cuda" else 0
        loader = DataLoader(self.train_set, batch_sampler=sampler, collate_fn=collate_notes,
                            num_workers=workers, pin_memory=self.device.type == "cuda",
                            persistent_workers=False)
        yield from loader

    def _train_epoch(self, stage: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                     cache, epochs: int) -> None:
        from sing.utils.progress import progress_bar

        cfg, info = self.config, self.info
        sampler = ResumableBatchSampler(self.position.order, cfg.batch_size, info.rank,
                                        info.world_size, start=self.position.step)
        total = num_batches(len(self.position.order), cfg.batch_size, info.world_size)
        bar = progress_bar(total=total, initial=self.position.step, disable=not self.progress,
                           unit="batch", desc=f"{stage} epoch {self.position.epoch + 1}/{epochs}",
                           dynamic_ncols=True)
        with single_threaded(stage != "seq" and self.position.shards > 1):
            self._train_batches(stage, model, optimizer, cache, sampler, bar)
        bar.close()

    def _train_batches(self, stage: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                       cache, sampler: ResumableBatchSampler, bar) -> None:
        started, notes_done = time.monotonic(), 0
        tick = (time.monotonic(), time.process_time())
        for batch in self._batches(stage, sampler, cache):
            n_global = len(sampler.global_batch(self.position.step))
            n_local = int(batch["instrument"].shape[0])
            if stage == "seq":
                loss = self._seq_step(model, optimizer, batch, n_local, n_global)
            else:
                loss = self._wave_step(stage, model, optimizer, batch, n_local, n_global)
            self.position.epoch_loss[0] += loss * n_global
            self.position.epoch_loss[1] += n_global
            self.position.step += 1
            notes_done += n_global
            now = (time.monotonic(), time.process_time())
            clock = self.position.clock
            self.position.clock = [clock[0] + now[0] - tick[0], clock[1] + now[1] - tick[1]]
            tick = now
            rate = notes_done / max(time.monotonic() - started, 1e-9)
            bar.set_postfix(loss=f"{loss:.4g}", notes_s=f"{rate:.1f}", refresh=False)
            bar.update(1)
            self._maybe_checkpoint(optimizer)
        self.last_rate = notes_done / max(time.monotonic() - started, 1e-9)

    def _maybe_checkpoint(self, optimizer: torch.optim.Optimizer) -> None:
        """Checkpoint every ``checkpoint_every`` minutes or on a stop signal (ranks agree)."""
        due = time.monotonic() - self.last_checkpoint >= 60 * self.config.checkpoint_every
        flags = torch.tensor([float(bool(self.stop)), float(due and self.info.is_main)],
                             dtype=torch.float64, device=self._reduce_device)
        flags = dist_.all_reduce_sum(flags).cpu()
        if flags[0] > 0 or flags[1] > 0:
            self._save(optimizer)
        if flags[0] > 0:
            import signal

            raise TrainingInterrupted(self.stop.signum or signal.SIGTERM, self.ckpt_path)

    @property
    def _reduce_device(self) -> torch.device:
        return self.device if self.device.type == "cuda" else torch.device("cpu")

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.bf16)

    def _guarded_step(self, optimizer: torch.optim.Optimizer, loss: ShardLoss,
                      n_local: int, n_global: int,
                      extra: Callable[[], torch.Tensor | float] | None = None,
                      sharded: bool = True) -> float:
        """Back-propagate the mean of ``loss`` over this rank's notes (+ ``extra()``), in
        ``shards`` shards if ``sharded``, so that DDP's gradient average equals the global batch
        mean; stop on a NaN/inf loss BEFORE the update. Returns the global mean loss."""
        optimizer.zero_grad(set_to_none=True)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        scale = n_local * self.info.world_size / n_global
        sharder = self.sharded if sharded else _ONE_SHARD
        loss = sharder.gradients(loss, n_local, params, extra, scale=scale)
        stats = torch.stack([loss.detach().double() * n_local,
                             (~torch.isfinite(loss.detach())).double()]).to(self._reduce_device)
        stats = dist_.all_reduce_sum(stats).cpu()
        if stats[1] > 0 or not math.isfinite(float(stats[0])):
            what = "NaN" if math.isnan(float(stats[0])) else "infinite"
            stage = STAGES[self.position.stage_index]
            kept = ("the last good checkpoint is kept" if self.ckpt_path.exists()
                    else "no checkpoint was written yet")
            raise SingError(
                f"the {stage} loss became {what} at epoch {self.position.epoch + 1}, batch "
                f"{self.position.step + 1}: training stopped, {kept} "
                "(try a lower --lr, or without --bf16)", self.ckpt_path)
        optimizer.step()
        self.position.optimizer_steps += 1
        return float(stats[0]) / n_global

    def _wave_step(self, stage: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                   batch: dict[str, torch.Tensor], n_local: int, n_global: int) -> float:
        from sing.models import frames

        wav = batch["wav"].to(self.device, non_blocking=True)
        symbols = [batch[k].to(self.device) for k in ("instrument", "pitch", "velocity")]
        target = frames.loss_target(wav, self.model_config)
        # relative_wav_mse's divisor, the batch's in every shard (only stage 1's anchor uses it)
        power = target.pow(2).mean() if stage == "ae" and self.config.ae_wav_weight else None

        def shard_loss(notes: slice) -> torch.Tensor:
            with self._autocast():
                if stage == "ae":
                    out = model(wav[notes], strip=False)
                else:
                    out = model(*(s[notes] for s in symbols), strip=False)
            return self._wave_loss(stage, out.float(), target[notes], power)

        extra = (lambda: self._pitch_penalty(model)) if stage == "sing" else None
        return self._guarded_step(optimizer, shard_loss, n_local, n_global, extra)

    def _pitch_penalty(self, model: nn.Module) -> torch.Tensor | float:
        """``pitch_smoothness`` x the roughness of the pitch rows of the training data's range
        (:func:`sing.training.losses.pitch_roughness`); 0 when the option is off."""
        weight = self.config.pitch_smoothness
        low, high = self.vocabulary.pitch_min, self.vocabulary.pitch_max
        if not weight or high - low < 2:
            return 0.0
        from sing.training.losses import pitch_roughness

        module = getattr(model, "module", model)  # DistributedDataParallel
        generator = getattr(module, "generator", module)
        return weight * pitch_roughness(generator.pitch_embedding.weight[low:high + 1].float())

    def _wave_loss(self, stage: str, output: torch.Tensor, target: torch.Tensor,
                   target_power: torch.Tensor | None = None) -> torch.Tensor:
        from sing.training.losses import stage_loss

        cfg = self.config
        batches = num_batches(len(self.train_set), cfg.batch_size, self.info.world_size)
        return stage_loss(output, target, cfg.loss, stage,
                          stage_step=self.position.epoch * batches + self.position.step,
                          ae_warmup=0 if cfg.init_autoencoder else cfg.ae_warmup,
                          ae_wav_weight=cfg.ae_wav_weight,
                          short_window_weight=cfg.short_window_weight,
                          floor_weight=cfg.floor_weight, floor_eps=cfg.floor_eps,
                          target_power=target_power)

    def _seq_step(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                  batch: dict[str, torch.Tensor], n_local: int, n_global: int) -> float:
        """Truncated back-propagation: one optimizer step per ``window`` steps of the note."""
        target = batch["frames"].to(self.device, non_blocking=True)
        symbols = [batch[k].to(self.device) for k in ("instrument", "pitch", "velocity")]
        length = target.shape[-1]
        state = None
        total = 0.0
        for start in range(0, length, self.config.window):
            size = min(self.config.window, length - start)
            with self._autocast():
                pred, state = model(*symbols, start=start, length=size, state=state)
            loss = torch.nn.functional.mse_loss(pred.float(), target[:, :, start:start + size])
            loss = loss + self._pitch_penalty(model)
            total += self._guarded_step(optimizer, lambda _, loss=loss: loss, n_local, n_global,
                                        sharded=False) * size
            state = tuple(s.detach() for s in state)
        return total / length

    def _evaluate(self, model: nn.Module, dataset, indices, desc: str) -> dict[str, float]:
        """Metrics over ``indices`` of ``dataset``, sharded over the ranks."""
        indices = list(indices)[self.info.rank::self.info.world_size]
        sums = loss_sums(model, dataset, indices, max(1, min(self.config.batch_size, 16)),
                         self.device, bf16=self.config.bf16, progress=self.progress, desc=desc)
        sums = dist_.all_reduce_sum(sums.to(self._reduce_device)).cpu()
        return metrics_from_sums(sums)

    def _end_epoch(self, stage: str, optimizer: torch.optim.Optimizer) -> None:
        """Evaluate on the fixed train subset and on valid, log, checkpoint."""
        n = self.config.eval_notes
        model: nn.Module = self.autoencoder if stage == "ae" else self.sing
        loss_sum, notes = self.position.epoch_loss
        train_record: dict[str, Any] = {
            "stage": stage, "epoch": self.position.epoch, "split": "train",
            "train_loss": loss_sum / notes if notes else float("nan"),
            "optimizer_steps": self.position.optimizer_steps,
            "notes_per_s": round(getattr(self, "last_rate", 0.0), 3),
            "train_s": round(self.position.clock[0], 3), "cpu_s": round(self.position.clock[1], 3),
        }
        if n > 0:
            subset = sorted(epoch_order(len(self.train_set), self.config.seed, -10)[:n])
            train_record.update(self._evaluate(model, self.train_set, subset, "eval train"))
        self.metrics.log(train_record)
        if n > 0 and len(self.valid_set) > 0:
            valid = self._evaluate(model, self.valid_set, range(min(n, len(self.valid_set))),
                                   "eval valid")
            self.metrics.log({"stage": stage, "epoch": self.position.epoch, "split": "valid",
                              **valid})
        if self.info.is_main:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in train_record.items()
                              if isinstance(v, float))
            logger.info(f"{stage} epoch {self.position.epoch + 1}: {shown}")
        self.position.epoch += 1
        self.position.step, self.position.order = 0, None
        self.position.epoch_loss, self.position.optimizer_steps = [0.0, 0], 0
        self.optimizer_state = optimizer.state_dict()
        self._save(optimizer)
