"""The options of a training run (:class:`TrainConfig`), shared by ``sing train`` and the API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sing.errors import SingError

#: The three stages of the paper, in order.
STAGES: tuple[str, ...] = ("ae", "seq", "sing")
#: ``sing train``'s default stage-1 warm-up (optimizer steps on the waveform MSE) and weight of
#: the waveform anchor (see :mod:`sing.training.losses`; docs/results.md shows what they were
#: chosen from). ``--paper-recipe`` sets both to 0; :class:`TrainConfig` defaults to the paper.
DEFAULT_AE_WARMUP = 300
DEFAULT_AE_WAV_WEIGHT = 1.0
#: Training losses of stages 1 and 3 (stage 2 always matches frames with MSE).
LOSSES: tuple[str, ...] = ("spectral", "wav")


@dataclass
class TrainConfig:
    """Everything that decides a training run.

    Attributes:
        data: the data set folder (jsonwav layout + ``split.json``).
        out: the run folder (checkpoint, metrics.jsonl, autoencoder/model files).
        preset: model preset (``paper``, ``small``, ``tiny``).
        loss: ``spectral`` (the paper's) or ``wav`` (waveform MSE) for stages 1 and 3.
        time_embedding: feed the LSTM the time embedding (the paper does).
        epochs_ae / epochs_seq / epochs_sing: epochs of each stage.
        batch_size: global batch size (all processes together).
        lr: Adam learning rate.
        ae_warmup: stage 1 trains its first ``ae_warmup`` optimizer steps on the waveform MSE
            before ``loss`` (0 in the paper's recipe; see :mod:`sing.training.losses`).
        ae_wav_weight: weight of a scale-free waveform-MSE anchor added to stage 1's spectral
            loss after the warm-up (0 in the paper's recipe).
        pitch_smoothness: weight of the pitch embedding's roughness along the pitch axis,
            added to the losses of stages 2 and 3 (0 in the paper's recipe; see
            :func:`sing.training.losses.pitch_roughness`).
        seed: seed of the model initialisation and of the data order.
        device: ``auto``, ``cpu`` or ``cuda`` (each torchrun rank takes GPU ``LOCAL_RANK``).
        bf16: autocast the forward passes to bfloat16 (losses stay float32).
        stages: the stages to run, a subset of ``("ae", "seq", "sing")``.
        init_autoencoder: start from this autoencoder file (e.g. to skip stage 1).
        init_model: start from this SING model file (e.g. to only fine-tune, stage 3).
        resume: require a checkpoint in ``out`` (a run is always resumed when one exists).
        checkpoint_every: minutes between mid-epoch checkpoints (0 = after every step).
        max_notes: use at most this many notes of each split (a fixed, seeded subset).
        eval_notes: notes of the fixed train subset and of valid evaluated after each epoch.
        window: truncated back-propagation window of stage 2, in steps (frames).
        num_workers: data-loading worker processes (None = 0 on CPU, 4 on CUDA).
        progress: show tqdm progress bars.
    """

    data: Path
    out: Path
    preset: str = "small"
    loss: str = "spectral"
    time_embedding: bool = True
    epochs_ae: int = 50
    epochs_seq: int = 50
    epochs_sing: int = 20
    batch_size: int = 64
    lr: float = 3e-4
    ae_warmup: int = 0
    ae_wav_weight: float = 0.0
    pitch_smoothness: float = 0.0
    seed: int = 42
    device: str = "auto"
    bf16: bool = False
    stages: tuple[str, ...] = STAGES
    init_autoencoder: Path | None = None
    init_model: Path | None = None
    resume: bool = False
    checkpoint_every: float = 10.0
    max_notes: int | None = None
    eval_notes: int = 256
    window: int = 32
    num_workers: int | None = None
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.out = Path(self.out)
        if self.init_autoencoder is not None:
            self.init_autoencoder = Path(self.init_autoencoder)
        if self.init_model is not None:
            self.init_model = Path(self.init_model)
        if isinstance(self.stages, str):
            self.stages = tuple(s.strip() for s in self.stages.split(",") if s.strip())
        self.stages = tuple(self.stages)

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
        if not 0 <= self.pitch_smoothness < float("inf"):
            raise SingError("--pitch-smoothness must be a finite number >= 0")
        if not 0 <= self.checkpoint_every < float("inf"):
            raise SingError("--checkpoint-every must be >= 0 minutes")
        if self.max_notes is not None and self.max_notes < 1:
            raise SingError("--max-notes must be >= 1")
        if self.window < 1:
            raise SingError("--window must be >= 1")
        if self.eval_notes < 0:
            raise SingError("--eval-notes must be >= 0")

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
