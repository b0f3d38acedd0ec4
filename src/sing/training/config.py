"""The options of a training run (:class:`TrainConfig`), shared by ``sing train`` and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sing.errors import SingError
from sing.training.losses import DEFAULT_FLOOR_EPS
from sing.utils.numbers import (
    BATCH_SIZE,
    COUNT,
    LEARNING_RATE,
    POSITIVE_COUNT,
    SEED,
    integer,
    real,
)
from sing.utils.options import option

#: The three stages of the paper, in order.
STAGES: tuple[str, ...] = ("ae", "seq", "sing")
#: The default stage-1 warm-up (optimizer steps on the waveform MSE) and weight of the waveform
#: anchor (see :mod:`sing.training.losses`; docs/results.md shows what they were chosen from),
#: of ``sing train`` and :class:`TrainConfig` alike. ``paper_recipe`` sets both to 0.
DEFAULT_AE_WARMUP = 300
DEFAULT_AE_WAV_WEIGHT = 1.0
#: Training losses of stages 1 and 3 (stage 2 always matches frames with MSE).
LOSSES: tuple[str, ...] = ("spectral", "wav")
#: Epoch counts of a stage.
EPOCHS = integer(0, 10**5)


@dataclass
class TrainConfig:
    """Everything that decides a training run: each setting declared once, with its default and
    its ``sing train`` option (:mod:`sing.utils.options`).

    Attributes:
        data: the data set folder (jsonwav layout + ``split.json``).
        out: the run folder (checkpoint, metrics.jsonl, autoencoder/model files).
        preset: model preset (``paper``, ``small``, ``tiny``).
        loss: ``spectral`` (the paper's) or ``wav`` (waveform MSE) for stages 1 and 3.
        time_embedding: feed the LSTM the time embedding (the paper does).
        epochs_ae / epochs_seq / epochs_sing: epochs of each stage.
        batch_size: global batch size (all processes together).
        lr: Adam learning rate.
        paper_recipe: the paper's stage 1 (``ae_warmup`` and ``ae_wav_weight`` 0 unless given).
        ae_warmup: stage 1 trains its first ``ae_warmup`` optimizer steps on the waveform MSE
            before ``loss`` (None: ``DEFAULT_AE_WARMUP``, 0 with ``paper_recipe``; see
            :mod:`sing.training.losses`).
        ae_wav_weight: weight of a scale-free waveform-MSE anchor added to stage 1's spectral
            loss after the warm-up (None: ``DEFAULT_AE_WAV_WEIGHT``, 0 with ``paper_recipe``).
        short_window_weight / floor_weight / floor_eps: stage 3's short-window and noise-floor
            terms (0, 0 in the paper's recipe; :mod:`sing.training.losses`).
        pitch_smoothness: weight of the pitch embedding's roughness along the pitch axis,
            added to the losses of stages 2 and 3 (0 in the paper's recipe; see
            :func:`sing.training.losses.pitch_roughness`).
        seed: seed of the model initialisation and of the data order.
        device: ``auto``, ``cpu`` or ``cuda`` (each torchrun rank takes GPU ``LOCAL_RANK``).
        bf16: autocast the forward passes to bfloat16 (losses stay float32).
        stages: the stages to run, a subset of ``("ae", "seq", "sing")``.
        init_autoencoder: start from this autoencoder file (e.g. to skip stage 1).
        init_model: start from this SING model file (e.g. to only fine-tune, stage 3); its
            vocabulary must be the data set's.
        init_from: start from this SING model file trained on another vocabulary (e.g. the
            shipped General MIDI model): every weight that carries over is copied, each new
            instrument starts as the same-named source instrument, else the mean of the source
            instruments of its family, else of all (:mod:`sing.models.transfer`); ``shipped``
            (no such file in the working folder) is the shipped General MIDI model.
        freeze: parameter-name prefixes of the SING model (``generator.lstm``, ``decoder``,
            ``generator.pitch_embedding``; the encoder's are ``encoder...``) that no stage
            trains.
        train_only: the opposite: prefixes of the only parameters trained (empty: all), e.g.
            ``generator.instrument_embedding,generator.velocity_embedding`` to fine-tune a
            new instrument's row and the velocity rows on a few notes.
        resume: require a checkpoint in ``out`` (a run is always resumed when one exists).
        checkpoint_every: minutes between mid-epoch checkpoints (0 = after every step).
        max_notes: use at most this many notes of each split (a fixed, seeded subset).
        eval_notes: notes of the fixed train subset and of valid evaluated after each epoch.
        window: truncated back-propagation window of stage 2, in steps (frames).
        num_workers: data-loading worker processes (None = 0 on CPU, 4 on CUDA).
        shards: stages 1 and 3 split each batch into this many shards, computed side by side
            on as many threads with one CPU thread each, their gradients summed
            (:mod:`sing.training.shards`); None: one per torch CPU thread on the CPU, within
            1 GiB of gradient copies (kept from the checkpoint when resuming), 1 on CUDA or
            under torchrun.
        progress: show tqdm progress bars.
    """

    data: Path = option(help="data set folder (with split.json)", type=Path)
    out: Path = option(help="run folder", type=Path, metavar="RUN_DIR")
    preset: str = option("small", "model preset: paper, medium, small or tiny")
    loss: str = option("spectral", "loss of stages 1 and 3", choices=LOSSES)
    time_embedding: bool = option(
        True, "do not feed the LSTM the time embedding (paper's ablation)")
    epochs_ae: int = option(50, "stage 1 epochs", type=EPOCHS)
    epochs_seq: int = option(50, "stage 2 epochs", type=EPOCHS)
    epochs_sing: int = option(20, "stage 3 epochs", type=EPOCHS)
    batch_size: int = option(64, "global batch size", type=BATCH_SIZE)
    lr: float = option(3e-4, "Adam learning rate", type=LEARNING_RATE)
    paper_recipe: bool = option(
        False, "the paper's stage 1 exactly: spectral loss from the first step "
        "(--ae-warmup 0 --ae-wav-weight 0 unless given)")
    ae_warmup: int | None = option(
        None, "stage 1 first learns the waveform (MSE) for STEPS optimizer steps, so the "
        "spectral loss does not start from silence", type=integer(0, 10**9), metavar="STEPS",
        default_help=f"{DEFAULT_AE_WARMUP}; 0 with --paper-recipe")
    ae_wav_weight: float | None = option(
        None, "stage 1 adds W x the relative waveform MSE to the spectral loss after the "
        "warm-up", type=real(0, 10**6), metavar="W",
        default_help=f"{DEFAULT_AE_WAV_WEIGHT:g}; 0 with --paper-recipe")
    pitch_smoothness: float = option(
        0.0, "stages 2 and 3 add W x the roughness of the pitch embedding along the pitch "
        "axis, so held-out pitches borrow from their neighbours (0: the paper's)",
        type=real(0, 10**6), metavar="W")
    short_window_weight: float = option(
        0.0, "stage 3 adds W x the log-spectral L1 at 256/64 and 128/32-sample windows, which "
        "hears the decoder's frame-rate buzz (0: the paper's)", type=real(0, 10**6),
        metavar="W")
    floor_weight: float = option(
        0.0, "stage 3 adds W x the log-spectral L1 with --floor-eps inside the log, which "
        "hears hiss far below the note (0: the paper's)", type=real(0, 10**6), metavar="W")
    floor_eps: float = option(
        DEFAULT_FLOOR_EPS, "epsilon of the noise-floor term (the paper's loss has 1)",
        type=real(0, 1, low_open=True), metavar="EPS")
    seed: int = option(42, "seed (model init, data order)", type=SEED)
    device: str = option("auto", "torch device: auto, cpu, cuda, cuda:1, ...")
    bf16: bool = option(False, "autocast forward passes to bfloat16")
    stages: tuple[str, ...] = option(STAGES, "comma-separated stages to run")
    init_autoencoder: Path | None = option(
        None, "start from this autoencoder file (e.g. with --stages seq,sing)", type=Path,
        metavar="FILE")
    init_model: Path | None = option(
        None, "start from this SING model file (e.g. with --stages sing)", type=Path,
        metavar="FILE")
    init_from: Path | None = option(
        None, "start from this SING model file of another vocabulary ('shipped': the shipped "
        "General MIDI model; with --stages sing): shared weights copied, a new instrument "
        "starts as the source's same-named one, else the mean of its family's", type=Path,
        metavar="FILE")
    freeze: tuple[str, ...] = option(
        (), "comma-separated parameter-name prefixes that no stage trains: generator "
        "(.instrument_embedding, .pitch_embedding, .velocity_embedding, .time_embedding, .lstm, "
        ".output), decoder, encoder", metavar="PREFIXES", default_help="none")
    train_only: tuple[str, ...] = option(
        (), "comma-separated parameter-name prefixes of the only parameters trained (as "
        "--freeze), e.g. generator.instrument_embedding,generator.velocity_embedding",
        metavar="PREFIXES", default_help="all")
    resume: bool = option(
        False, "require RUN_DIR/checkpoint.pt (a run is resumed anyway when it exists)")
    checkpoint_every: float = option(
        10.0, "minutes between mid-epoch checkpoints (0 = every step)", type=real(0, 10**6),
        metavar="MINUTES")
    max_notes: int | None = option(
        None, "use at most N notes of each split (a fixed seeded subset)", type=POSITIVE_COUNT,
        metavar="N")
    eval_notes: int = option(
        256, "notes of the train subset and of valid evaluated per epoch", type=COUNT,
        metavar="N")
    window: int = option(
        32, "truncated back-propagation window of stage 2, in frames", type=integer(1, 10**5))
    num_workers: int | None = option(
        None, "data-loading workers", type=integer(0, 256), flag="--workers",
        default_help="0 on CPU, 4 on CUDA")
    shards: int | None = option(
        None, "stages 1 and 3 compute each batch as N shards side by side, one CPU thread "
        "each (the gradient is their sum)", type=integer(1, 256), metavar="N",
        default_help="one per CPU thread on the CPU (within 1 GiB of gradient copies), kept "
        "on resume; 1 on CUDA or torchrun")
    progress: bool = option(True, "no progress bars", flag="--no-progress")
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # stage 1's warm-up and anchor: the defaults, the paper's zeros, or the values given
        # (an explicit value wins over paper_recipe's zero)
        if self.ae_warmup is None:
            self.ae_warmup = 0 if self.paper_recipe else DEFAULT_AE_WARMUP
        if self.ae_wav_weight is None:
            self.ae_wav_weight = 0.0 if self.paper_recipe else DEFAULT_AE_WAV_WEIGHT
        self.data = Path(self.data)
        self.out = Path(self.out)
        if self.init_autoencoder is not None:
            self.init_autoencoder = Path(self.init_autoencoder)
        if self.init_model is not None:
            self.init_model = Path(self.init_model)
        if self.init_from is not None:
            self.init_from = Path(self.init_from)
        if isinstance(self.stages, str):
            self.stages = tuple(s.strip() for s in self.stages.split(",") if s.strip())
        self.stages = tuple(self.stages)
        if isinstance(self.freeze, str):
            self.freeze = tuple(s.strip() for s in self.freeze.split(",") if s.strip())
        self.freeze = tuple(self.freeze)
        if isinstance(self.train_only, str):
            self.train_only = tuple(s.strip() for s in self.train_only.split(",") if s.strip())
        self.train_only = tuple(self.train_only)

    def validate(self) -> None:
        """Raise :class:`SingError` (one line) for options that cannot work."""
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown or not self.stages:
            raise SingError(f"--stages {','.join(self.stages) or '(empty)'}: expected a "
                            f"comma-separated subset of {','.join(STAGES)}")
        if self.loss not in LOSSES:
            raise SingError(f"unknown loss '{self.loss}' (expected {' or '.join(LOSSES)})")
        for name in ("epochs_ae", "epochs_seq", "epochs_sing"):
            if getattr(self, name) < 0:
                raise SingError(f"--{name.replace('_', '-')} must be >= 0")
        if self.batch_size < 1:
            raise SingError("--batch-size must be >= 1")
        if not 0 < self.lr <= 1:  # also refuses NaN and infinity
            raise SingError(f"--lr must be in (0, 1], not {self.lr}")
        if self.ae_warmup < 0:
            raise SingError("--ae-warmup must be >= 0 steps")
        if not 0 <= self.ae_wav_weight < float("inf"):
            raise SingError("--ae-wav-weight must be a finite number >= 0")
        for name in ("pitch_smoothness", "short_window_weight", "floor_weight"):
            if not 0 <= getattr(self, name) < float("inf"):
                raise SingError(f"--{name.replace('_', '-')} must be a finite number >= 0")
        if not 0 < self.floor_eps <= 1:
            raise SingError(f"--floor-eps must be in (0, 1], not {self.floor_eps}")
        if not 0 <= self.checkpoint_every < float("inf"):
            raise SingError("--checkpoint-every must be >= 0 minutes")
        if self.max_notes is not None and self.max_notes < 1:
            raise SingError("--max-notes must be >= 1")
        if self.window < 1:
            raise SingError("--window must be >= 1")
        if self.eval_notes < 0:
            raise SingError("--eval-notes must be >= 0")
        if self.freeze and self.train_only:
            raise SingError("--freeze and --train-only both choose the trained parameters: "
                            "give one")
        if self.init_from is not None and self.init_model is not None:
            raise SingError("--init-model and --init-from both give the starting model: "
                            "give one (--init-model for this data set's vocabulary, "
                            "--init-from for another)")

    def signature(self) -> dict[str, Any]:
        """What a checkpoint must agree on to be resumed (epochs may grow, paths may move)."""
        signature = {
            "preset": self.preset,
            "loss": self.loss,
            "time_embedding": self.time_embedding,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "stages": ",".join(self.stages),
            "max_notes": self.max_notes,
            "window": self.window,
            "bf16": self.bf16,
        }
        # the stage-1 options joined later: absent (paper recipe) keeps older checkpoints valid
        if self.ae_warmup:
            signature["ae_warmup"] = self.ae_warmup
        if self.ae_wav_weight:
            signature["ae_wav_weight"] = self.ae_wav_weight
        if self.pitch_smoothness:
            signature["pitch_smoothness"] = self.pitch_smoothness
        if self.short_window_weight:
            signature["short_window_weight"] = self.short_window_weight
        if self.floor_weight:
            signature["floor_weight"] = self.floor_weight
            signature["floor_eps"] = self.floor_eps
        if self.freeze:
            signature["freeze"] = ",".join(self.freeze)
        if self.train_only:
            signature["train_only"] = ",".join(self.train_only)
        return signature

    def recipe(self) -> dict[str, Any]:
        """The recipe stored in the model file: every option, as plain JSON types."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, Path):
                out[key] = str(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
        out.pop("progress", None)
        out.pop("num_workers", None)
        return out
