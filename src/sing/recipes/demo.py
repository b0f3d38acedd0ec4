"""`sing demo` / `make demo`: from nothing to held-out notes you can listen to, on a CPU.

Four steps, each reused by a second run when already done (progress is logged as
``[demo k/4]``, with tqdm bars inside each step):

1. **data**: render the demo subset of FluidR3_GM (``sing.data.soundfont.DEMO_PROGRAMS``: three
   GM programs per NSynth family, 33 in all; ``DEMO_PITCHES`` C3-C5; all five velocities) into an
   NSynth-shaped folder. Notes are shortened (see :class:`DemoRecipe`) so that a CPU can train
   on them in minutes; the key is held for 75% of the note, as in NSynth (3 s of 4).
2. **split**: (instrument, pitch) pairs to train / valid / test, seed 42, as the paper.
3. **train**: the three stages with a CPU preset, as two resumable runs: the autoencoder
   (spectral loss after a waveform warm-up, with a waveform anchor: ``sing train``'s default,
   :mod:`sing.training.losses`), then the sequence generator and SING (spectral loss) from
   that autoencoder.
4. **evaluate + report**: the held-out (test) pairs: metrics, pitch accuracy against the
   ground truth's, the resample reference, and the listening report (index.html), which also
   plays the bundled MIDI piece (:data:`sing.midi.pieces.CANON`) rendered by the shipped
   General MIDI model (``piece-gm.wav``, :mod:`sing.pretrained`; skipped with a log line by an
   install without it) and by the demo's own model (``piece.wav``; the GM programs it lacks
   are played by its nearest instrument).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sing.errors import SingError

logger = logging.getLogger(__name__)

#: Titles of the bundled piece in the report, played by the shipped model and the demo's own.
PIECE_TITLE_SHIPPED = ("Pachelbel: Canon in D (bundled MIDI file), played by the shipped "
                       "General MIDI model")
PIECE_TITLE = "Pachelbel: Canon in D (bundled MIDI file), played by the demo's model"


@dataclass(frozen=True)
class DemoRecipe:
    """Everything the demo builds and trains.

    Attributes:
        programs / pitches: GM programs and MIDI pitches rendered (all five velocities).
        duration / hold: note length and key-down time (s).
        preset: model preset; epochs: (autoencoder, sequence generator, SING) epochs.
        batch_size / lr: of stages 2 and 3.
        ae_batch_size / ae_lr: of stage 1.
        ae_warmup / ae_wav_weight: stage 1's waveform warm-up (optimizer steps) and waveform
            anchor (see :mod:`sing.training.losses`).
        pitch_smoothness: weight of the pitch embedding's roughness in stages 2-3 (0: off).
        eval_notes: notes of the train subset and of valid evaluated after each epoch.
        per_family: held-out notes shown per family in the report.
    """

    name: str
    programs: tuple[int, ...]
    pitches: tuple[int, ...]
    duration: float
    hold: float
    preset: str
    epochs: tuple[int, int, int]
    batch_size: int
    lr: float
    eval_notes: int
    per_family: int = 1
    ae_batch_size: int = 8
    ae_lr: float = 3e-4
    ae_warmup: int = 300
    ae_wav_weight: float = 1.0
    pitch_smoothness: float = 0.0

    def data_key(self) -> dict[str, Any]:
        """What decides the data folder (a change means a new folder)."""
        return {"programs": list(self.programs), "pitches": list(self.pitches),
                "duration": self.duration, "hold": self.hold}


def _recipes() -> dict[str, DemoRecipe]:
    from sing.data.soundfont import DEMO_PITCHES, DEMO_PROGRAMS

    return {
        "full": DemoRecipe(
            name="full", programs=DEMO_PROGRAMS, pitches=DEMO_PITCHES, duration=1.0, hold=0.75,
            preset="small", epochs=(4, 12, 6), batch_size=16, lr=1e-3, eval_notes=48,
        ),
        "quick": DemoRecipe(
            name="quick", programs=(0, 40, 73), pitches=tuple(range(57, 66)), duration=0.5,
            hold=0.375, preset="tiny", epochs=(3, 3, 1), batch_size=16, lr=1e-3,
            eval_notes=16, ae_batch_size=16, ae_lr=1e-3, ae_warmup=4,
        ),
    }


def recipe(quick: bool = False) -> DemoRecipe:
    """The demo recipe: the full one (``make demo``) or the quick one (the tests)."""
    return _recipes()["quick" if quick else "full"]


def _step(number: int, text: str) -> None:
    logger.info(f"[demo {number}/4] {text}")


def build_demo_data(folder: Path, rec: DemoRecipe, soundfont: str | None = None) -> Path:
    """Render the demo data set into ``folder`` unless it already holds the same one; split it.

    Returns ``folder``.
    """
    from sing.data.soundfont import build_dataset
    from sing.data.split import make_split

    stamp = folder / "demo.json"
    if (folder / "examples.json").is_file() and stamp.is_file():
        try:
            same = json.loads(stamp.read_text(encoding="utf-8")) == rec.data_key()
        except (OSError, json.JSONDecodeError):
            same = False
        if not same:
            raise SingError("holds a different demo data set; remove it or use another --out",
                            folder)
        logger.info(f"reusing the data set in {folder}")
    else:
        build_dataset(folder, soundfont=soundfont, programs=rec.programs, pitches=rec.pitches,
                      duration=rec.duration, hold=rec.hold, overwrite=True)
        from sing.utils.atomic import atomic_write_text

        atomic_write_text(stamp, json.dumps(rec.data_key()) + "\n")
    make_split(folder)
    return folder


def run_demo(
    out: str | Path = "demo",
    quick: bool = False,
    soundfont: str | None = None,
    device: str = "cpu",
    force: bool = False,
    rec: DemoRecipe | None = None,
) -> Path:
    """Build, split, train, evaluate and report; returns the path of the report's index.html.

    ``rec`` replaces the recipe (``recipe(quick)``): for experiments on the demo's pipeline
    (e.g. more programs per family), never used by ``make demo``.

    Everything lives in ``out``: ``data`` (or ``data-quick``), ``run``, ``report``. A second call
    reuses the data set, the trained model and the report when they are complete.
    """
    from sing.evaluation.run_report import report_for_run
    from sing.midi.pieces import CANON
    from sing.midi.render import render_file
    from sing.pretrained import shipped_model_path
    from sing.training.config import TrainConfig
    from sing.training.trainer import train

    rec = rec or recipe(quick)
    out = Path(out)
    suffix = "-quick" if quick else ""
    data, run, report = out / f"data{suffix}", out / f"run{suffix}", out / f"report{suffix}"
    started = time.monotonic()

    _step(1, f"data set: GM programs {list(rec.programs)}, pitches {rec.pitches[0]}-"
             f"{rec.pitches[-1]}, 5 velocities, {rec.duration:g} s notes -> {data}")
    build_demo_data(data, rec, soundfont)

    model_file = run / "model.safetensors"
    ae_run = out / f"run-autoencoder{suffix}"
    if force:
        import shutil

        for name in ("run", "run-autoencoder"):
            folder = out / f"{name}{suffix}"
            if folder.exists():
                shutil.rmtree(folder)
    common = dict(data=data, preset=rec.preset, device=device, eval_notes=rec.eval_notes,
                  extra={"demo": asdict(rec)})
    _step(2, f"training stage 1, the autoencoder ({rec.preset} preset, {rec.epochs[0]} epochs, "
             f"waveform warm-up {rec.ae_warmup} steps, then the spectral loss) -> {ae_run}")
    train(TrainConfig(out=ae_run, stages=("ae",), epochs_ae=rec.epochs[0], lr=rec.ae_lr,
                      batch_size=rec.ae_batch_size, ae_warmup=rec.ae_warmup,
                      ae_wav_weight=rec.ae_wav_weight, **common))
    autoencoder = ae_run / "autoencoder.safetensors"
    curve_runs = (ae_run,)
    _step(3, f"training stages 2 and 3, sequence generator and SING ({rec.epochs[1]} and "
             f"{rec.epochs[2]} epochs, spectral loss) -> {run}")
    train(TrainConfig(out=run, loss="spectral", stages=("seq", "sing"), lr=rec.lr,
                      init_autoencoder=autoencoder,
                      epochs_seq=rec.epochs[1], epochs_sing=rec.epochs[2],
                      batch_size=rec.batch_size, pitch_smoothness=rec.pitch_smoothness,
                      **common))
    trained_at = time.monotonic()

    index = report / "index.html"
    if index.is_file() and index.stat().st_mtime >= model_file.stat().st_mtime:
        _step(4, f"reusing the report in {report}")
    else:
        _step(4, f"evaluating the held-out notes, playing {CANON.name} and writing the report "
                 f"-> {report}")
        pieces = []
        try:
            shipped = shipped_model_path()
        except SingError as err:
            logger.info(f"[demo] not playing the shipped model: {err}")
        else:
            pieces.append((PIECE_TITLE_SHIPPED, render_file(
                shipped, CANON, out / f"piece-gm{suffix}.wav", device=device)))
        pieces.append((PIECE_TITLE, render_file(model_file, CANON, out / f"piece{suffix}.wav",
                                                device=device)))
        index = report_for_run(
            run=run, data=data, out=report, per_family=rec.per_family, device=device,
            extra_runs=curve_runs, pieces=pieces,
            title="SING demo: listening report",
            notes=(f"Demo recipe '{rec.name}': GM programs {list(rec.programs)}, pitches "
                   f"{rec.pitches[0]}-{rec.pitches[-1]}, five velocities, {rec.duration:g} s "
                   f"notes, {rec.preset} preset, epochs ae/seq/sing {rec.epochs}, batch "
                   f"{rec.ae_batch_size}/{rec.batch_size}, lr {rec.ae_lr:g}/{rec.lr:g}; "
                   f"autoencoder: {rec.ae_warmup} warm-up steps on the waveform, then the "
                   f"spectral loss with a waveform anchor (weight {rec.ae_wav_weight:g}); "
                   "sequence generator and SING with the spectral loss."),
        )
    summary = demo_summary(report / "metrics.json")
    logger.info(f"[demo] done in {time.monotonic() - started:.0f} s (to the end of training "
                f"{trained_at - started:.0f} s). {summary}")
    return index


def demo_summary(metrics_json: Path) -> str:
    """One line: SING's held-out pitch accuracy beside the ground truth's, and its spectral L1
    beside the resample reference's."""
    try:
        results = json.loads(metrics_json.read_text(encoding="utf-8"))
        systems = results["systems"]
        sing = systems["sing"]["overall"]
        truth = systems["ground_truth"]["overall"]["pitch_accuracy"]
        resample = systems.get("resample", {}).get("overall", {})
    except (OSError, KeyError, TypeError, json.JSONDecodeError):
        return ""
    text = (f"Held-out pitch accuracy: SING {100 * sing['pitch_accuracy']:.0f}%, ground truth "
            f"{100 * truth:.0f}%")
    if truth:
        text += f" (SING reaches {100 * sing['pitch_accuracy'] / truth:.0f}% of it)"
    if "pitch_accuracy" in resample:
        text += f", resample {100 * resample['pitch_accuracy']:.0f}%"
    text += f". Spectral L1: SING {sing['spectral_l1']:.4f}"
    if resample.get("spectral_l1"):
        ratio = sing["spectral_l1"] / resample["spectral_l1"]
        text += f", resample {resample['spectral_l1']:.4f} (SING is {ratio:.1f}x resample's)"
    return text + "."
