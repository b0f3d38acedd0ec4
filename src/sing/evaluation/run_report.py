"""`sing report`: evaluate a run's model on its held-out notes and write the listening report."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from sing.errors import SingError

logger = logging.getLogger(__name__)

MODEL_FILE = "model.safetensors"


def report_for_run(
    run: Path | None = None,
    model_path: Path | None = None,
    data: Path | None = None,
    out: Path | None = None,
    split: str = "test",
    limit: int | None = None,
    per_family: int = 1,
    device: str = "cpu",
    check: bool = False,
    title: str = "SING: listening report",
    notes: str = "",
    progress: bool = True,
    extra_runs: tuple[Path, ...] = (),
    allow_other_data: bool = False,
    pieces: Sequence[tuple[str, Path]] = (),
    pitch_estimator: str = "yin",
    crepe_model: str | None = None,
) -> Path:
    """Evaluate and write the report folder; returns the path of its ``index.html``.

    Either ``run`` (a training run folder holding ``model.safetensors`` and ``metrics.jsonl``)
    or ``model_path`` is needed; ``data`` defaults to the run's data folder. ``extra_runs``
    add their training curves (e.g. a separate autoencoder run). Also writes
    ``metrics.json`` and ``metrics.md`` in the report folder. With ``check`` the page is opened
    in headless Chromium and any missing source or console error raises :class:`SingError`.
    A model trained on other data is refused unless ``allow_other_data``
    (:func:`sing.evaluation.provenance.check_evaluation_data`). ``pieces`` (``(title, WAV)``
    pairs, e.g. a MIDI file rendered by a model) add a "Music" section with their players.
    ``pitch_estimator``: ``yin``, ``crepe`` or ``both`` (:mod:`sing.evaluation.pitch`).
    """
    from sing.data.nsynth import NoteSubset, NSynthDataset
    from sing.evaluation.evaluator import evaluate_model
    from sing.evaluation.listening_page import choose_showcase, write_report
    from sing.evaluation.provenance import check_evaluation_data
    from sing.evaluation.tables import write_results
    from sing.models.io import load_model_file

    if run is None and model_path is None:
        raise SingError("give --run RUN_DIR or --model FILE")
    if run is not None:
        if not run.is_dir():
            raise SingError("no such run folder", run)
        model_path = model_path or run / MODEL_FILE
        if not model_path.is_file():
            raise SingError(f"no {MODEL_FILE} in this run (has training finished?)", run)
    model, info = load_model_file(model_path, device=device)
    if data is None and isinstance(info.recipe.get("data"), str):
        data = Path(info.recipe["data"])  # the folder the model was trained on
    if data is None:
        raise SingError("the data folder is unknown: pass --data DIR")
    out = out or ((run / "report") if run is not None else Path("report"))
    dataset = NSynthDataset(data, split=split)
    if len(dataset) == 0:
        raise SingError(f"nothing to evaluate: the {split} split has no notes",
                        data / "split.json")
    check_evaluation_data(info, dataset, split, allow_other_data)
    reference = NSynthDataset(data, split="train")
    showcase = choose_showcase(dataset, per_family=per_family)
    evaluation = evaluate_model(model, dataset, reference, device=device, limit=limit,
                                keep_audio=showcase, progress=progress,
                                pitch_estimator=pitch_estimator, crepe_model=crepe_model)
    missing = [n for n in showcase if n not in evaluation.audio]
    if missing:  # --limit left some showcase notes out: evaluate those too
        position = {n: i for i, n in enumerate(dataset.names)}
        extra = NoteSubset(dataset, [position[n] for n in missing])
        more = evaluate_model(model, extra, reference, device=device, keep_audio=missing,
                              progress=False, pitch_estimator="yin")
        evaluation.audio.update(more.audio)
    evaluation.results["meta"].update(
        {"model": model_path.name, "kind": info.kind, "split": split, "data": str(data),
         "pitch estimator": pitch_estimator}
    )
    index = write_report(
        out, evaluation, dataset.vocabulary.sample_rate, model=model,
        vocabulary=info.vocabulary,
        run_dir=[*extra_runs, *([run] if run is not None else [])], title=title, notes=notes,
        device=device, pieces=pieces,
    )
    evaluation.results["notes"] = [r.to_dict() for r in evaluation.records]
    write_results(evaluation.results, out / "metrics.json", title="Evaluation")
    if check:
        check_report(index)
    return index


def check_report(index: Path) -> None:
    """Open ``index`` in headless Chromium; raise :class:`SingError` unless every image and
    audio source loads, the console is clean and the page is not blank."""
    from sing.evaluation.browser import check_page

    result = check_page(index)
    if not result.ok:
        problems = [f"{m['kind']} {m['src'][:40]} did not load" for m in result.failed_media]
        problems += [f"console: {e}" for e in result.console_errors]
        if result.screenshot_std <= 1.0:
            problems.append("the page renders blank")
        raise SingError("; ".join(problems[:3]), index)
    logger.info(f"checked in headless Chromium: {len(result.media)} images and sounds load")
