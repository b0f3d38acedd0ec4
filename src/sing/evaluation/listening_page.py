"""The listening report: one folder with a self-contained ``index.html``.

The page holds the metrics table; for a choice of held-out notes, the ground truth, SING and
the resample reference side by side, each with an audio player and its log-spectrogram; the
training curves; the t-SNE map of the learned instrument embeddings coloured by family;
"new instruments": notes generated from embeddings interpolated between two instruments; and,
optionally, a piece of music rendered from a MIDI file (``sing render``) with a player.
Every image and sound is embedded as a ``data:`` URI, so the page works offline and by e-mail;
the sounds are also written as WAV files in ``audio/`` beside it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sing.data.wav import wav_bytes
from sing.evaluation.figures import data_uri, spectrogram_png, tsne_png
from sing.evaluation.tables import (
    ESTIMATOR_METRICS,
    METRIC_LABELS,
    SYSTEM_LABELS,
    format_value,
    relative_pitch_lines,
    table_metrics,
)
from sing.utils.atomic import atomic_directory

logger = logging.getLogger(__name__)

SHOWN_SYSTEMS: tuple[str, ...] = ("ground_truth", "sing", "autoencoder", "resample")
INTERPOLATION_STEPS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { display: flex; gap: 12px; margin: 1em 0; flex-wrap: wrap; }
.cell { border: 1px solid #ddd; padding: 6px; border-radius: 4px; }
.cell h4 { margin: 0 0 4px 0; font-size: 13px; }
audio { width: 256px; display: block; }
img { display: block; }
.meta { color: #666; font-size: 13px; }
"""


def choose_showcase(dataset: Any, per_family: int = 1, velocity: int = 100) -> list[str]:
    """Names of held-out notes to listen to: ``per_family`` notes of each family, at the
    velocity nearest ``velocity``, spread over the instruments."""
    vocab = dataset.vocabulary
    target_v = min(range(vocab.num_velocities), key=lambda i: abs(vocab.velocities[i] - velocity))
    by_family: dict[str, list[str]] = {}
    seen_instruments: set[int] = set()
    for name in sorted(dataset.names):
        instrument, _pitch, v = vocab.encode_note(name)
        if v != target_v:
            continue
        family = vocab.families[instrument]
        chosen = by_family.setdefault(family, [])
        if len(chosen) < per_family and instrument not in seen_instruments:
            chosen.append(name)
            seen_instruments.add(instrument)
    return [n for fam in sorted(by_family) for n in by_family[fam]]


@torch.no_grad()
def interpolate_instruments(
    model: torch.nn.Module, first: int, second: int, pitch: int, velocity: int,
    steps: Sequence[float] = INTERPOLATION_STEPS, device: str | torch.device = "cpu",
) -> list[np.ndarray]:
    """Notes from instrument embeddings ``(1 - a) * e[first] + a * e[second]`` for each ``a`` in
    ``steps`` (given to the model as ``instrument_embedding``): a list of ``ndarray[T]``."""
    model = model.to(device).eval()
    weight = model.generator.instrument_embedding.weight.detach()
    alphas = torch.tensor(list(steps), dtype=weight.dtype, device=weight.device).unsqueeze(1)
    rows = (1 - alphas) * weight[first] + alphas * weight[second]
    k = len(steps)
    wav = model(None, torch.full((k,), pitch, device=device),
                torch.full((k,), velocity, device=device), instrument_embedding=rows)
    return [w.float().cpu().numpy() for w in wav]


def _metrics_html(results: dict[str, Any]) -> str:
    metrics = table_metrics(results)
    head = "".join(f"<th>{html.escape(METRIC_LABELS.get(m, m))}</th>" for m in metrics)
    rows = []
    for system, v in results["systems"].items():
        cells = "".join(f"<td>{format_value(m, v['overall'].get(m))}</td>" for m in metrics)
        rows.append(f"<tr><td>{html.escape(SYSTEM_LABELS.get(system, system))}</td>{cells}</tr>")
    out = f"<table><tr><th>system</th>{head}</tr>{''.join(rows)}</table>"
    for line in relative_pitch_lines(results):
        text, value = line.rsplit(": ", 1)
        out += f"<p>{html.escape(text)}: <b>{html.escape(value)}</b></p>"
    families = sorted({f for v in results["systems"].values() for f in v["families"]})
    pitch = [(name, m) for name, (m, _k) in ESTIMATOR_METRICS.items() if m in metrics]
    if families:
        systems = list(results["systems"])
        what = " / ".join(["spectral L1"] + [f"pitch {n}" for n, _m in pitch])
        head = "".join(
            f"<th>{html.escape(SYSTEM_LABELS.get(s, s).split(' (')[0])}<br>{what}</th>"
            for s in systems
        )
        rows = []
        for fam in families:
            cells = ""
            for s in systems:
                f = results["systems"][s]["families"].get(fam, {})
                values = [format_value("spectral_l1", f.get("spectral_l1"))]
                values += [format_value(m, f.get(m)) for _n, m in pitch]
                cells += f"<td>{' / '.join(values)}</td>"
            rows.append(f"<tr><td>{html.escape(fam)}</td>{cells}</tr>")
        out += ("<h3>Per family</h3>"
                f"<table><tr><th>family</th>{head}</tr>{''.join(rows)}</table>")
    return out


def _cell(label: str, wav: np.ndarray, sample_rate: int, audio_dir: Path, stem: str,
          vmax: float | None) -> str:
    data = wav_bytes(wav, sample_rate)
    (audio_dir / f"{stem}.wav").write_bytes(data)
    png = spectrogram_png(wav, sample_rate, vmax=vmax)
    return (
        f'<div class="cell"><h4>{html.escape(label)}</h4>'
        f'<img alt="spectrogram: {html.escape(label)}" src="{data_uri(png, "image/png")}">'
        f'<audio controls preload="metadata" src="{data_uri(data, "audio/wav")}"></audio></div>'
    )


def write_report(
    out: str | Path,
    evaluation: Any,
    sample_rate: int,
    model: torch.nn.Module | None = None,
    vocabulary: Any | None = None,
    run_dir: str | Path | Sequence[str | Path] | None = None,
    title: str = "SING: listening report",
    notes: str = "",
    device: str | torch.device = "cpu",
    pieces: Sequence[tuple[str, str | Path]] = (),
) -> Path:
    """Write the report folder ``out`` (atomically) and return the path of its index.html.

    ``evaluation`` is a :class:`sing.evaluation.evaluator.Evaluation` whose ``audio`` holds the
    held-out notes to show; ``model``/``vocabulary`` (a SING) give the t-SNE map and the new
    instruments; ``run_dir`` (one run folder or several) gives the training curves
    (``metrics.jsonl``). ``pieces`` (``(title, WAV file)`` pairs, e.g. from
    :func:`sing.midi.render.render_file`) add a "Music" section with a player for each.
    """
    from sing.data.vocabulary import parse_note_name

    out = Path(out)
    sections: list[str] = []
    music = [_piece_cell(Path(path), title) for title, path in pieces]
    with atomic_directory(out) as tmp:
        tmp.chmod(0o755)  # a report is for reading (the temporary folder starts private)
        audio_dir = tmp / "audio"
        audio_dir.mkdir()
        if music:
            sections.append("<h2>Music</h2><p>A MIDI file rendered by a model (<code>sing "
                            "render</code>), each distinct note generated once.</p>")
            for k, (cell, data) in enumerate(music):
                (audio_dir / f"piece-{k}.wav").write_bytes(data)
                sections.append(cell)
        meta = evaluation.results.get("meta", {})
        sections.append("<h2>Metrics</h2>")
        if meta:
            sections.append('<p class="meta">' + html.escape(
                ", ".join(f"{k}: {v}" for k, v in meta.items())) + "</p>")
        sections.append(_metrics_html(evaluation.results))

        sections.append("<h2>Held-out notes</h2><p>Pairs (instrument, pitch) never seen in "
                        "training. Left to right: the recording, the model, and what a sampler "
                        "does (the nearest training pitch, resampled).</p>")
        for name, systems in evaluation.audio.items():
            instrument, pitch, velocity = parse_note_name(name)
            truth = systems.get("ground_truth")
            vmax = None
            if truth is not None:  # one colour scale for the three spectrograms of a note
                from sing.evaluation.figures import power_db

                vmax = float(power_db(truth).max())
            cells = [
                _cell(SYSTEM_LABELS.get(s, s).split(" (")[0], systems[s], sample_rate,
                      audio_dir, f"{name}.{s}", vmax)
                for s in SHOWN_SYSTEMS if s in systems
            ]
            sections.append(
                f"<h3>{html.escape(instrument)}, pitch {pitch}, velocity {velocity}</h3>"
                f'<div class="note">{"".join(cells)}</div>'
            )

        runs = [Path(r) for r in ([run_dir] if isinstance(run_dir, (str, Path)) else
                                  (run_dir or ())) if (Path(r) / "metrics.jsonl").is_file()]
        if runs:
            from sing.training.curves import plot_metrics

            sections.append("<h2>Training curves</h2>")
            for k, run in enumerate(runs):
                curves = plot_metrics(run, tmp / f"curves-{k}.png")
                sections.append(f"<h3>{html.escape(run.name)}</h3>"
                                f'<img alt="training curves of {html.escape(run.name)}" '
                                f'style="max-width:100%" '
                                f'src="{data_uri(Path(curves).read_bytes(), "image/png")}">')

        if model is not None and vocabulary is not None and hasattr(model, "generator"):
            sections.append(_embedding_sections(model, vocabulary, sample_rate, audio_dir,
                                                device))
        if notes:
            sections.append(f"<h2>Notes</h2><p>{html.escape(notes)}</p>")
        page = (
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>\n"
        )
        (tmp / "index.html").write_text(page, encoding="utf-8")
    return out / "index.html"


def _piece_cell(path: Path, title: str) -> tuple[str, bytes]:
    """A player for the WAV file ``path`` (the "Music" section) and its bytes (checked)."""
    import io

    import soundfile as sf

    from sing.errors import SingError, describe_os_error

    try:
        data = path.read_bytes()
        info = sf.info(io.BytesIO(data))
    except OSError as err:
        raise SingError(describe_os_error(err, path).split(": ", 1)[-1], path) from None
    except (RuntimeError, sf.LibsndfileError):
        raise SingError("not a WAV file (the report's piece)", path) from None
    if info.format != "WAV":
        raise SingError(f"not a WAV file ({info.format}; the report's piece)", path)
    label = html.escape(title or path.stem)
    cell = (
        f'<div class="cell piece"><h4>{label} ({info.duration:.1f} s)</h4>'
        f'<audio controls preload="metadata" style="width:600px" '
        f'src="{data_uri(data, "audio/wav")}"></audio></div>'
    )
    return cell, data


def _embedding_sections(
    model: torch.nn.Module, vocabulary: Any, sample_rate: int, audio_dir: Path,
    device: str | torch.device,
) -> str:
    weight = model.generator.instrument_embedding.weight.detach().float().cpu().numpy()
    png = tsne_png(weight, vocabulary.instruments, vocabulary.families)
    parts = ["<h2>Instrument embeddings</h2><p>t-SNE of the learned instrument lookup table, "
             "coloured by NSynth family (the paper's Figure 4).</p>",
             f'<img alt="t-SNE of instrument embeddings" src="{data_uri(png, "image/png")}">']
    n = vocabulary.num_instruments
    if n < 2:
        return "".join(parts)
    first = 0
    second = next((i for i in range(n) if vocabulary.families[i] != vocabulary.families[0]), 1)
    pitch = (vocabulary.pitch_min + vocabulary.pitch_max) // 2
    velocity = min(range(vocabulary.num_velocities),
                   key=lambda i: abs(vocabulary.velocities[i] - 100))
    wavs = interpolate_instruments(model, first, second, pitch, velocity, device=device)
    a, b = vocabulary.instruments[first], vocabulary.instruments[second]
    cells = [
        _cell(f"{1 - alpha:.2f} {a} + {alpha:.2f} {b}", wav, sample_rate, audio_dir,
              f"interpolation-{k}", None)
        for k, (alpha, wav) in enumerate(zip(INTERPOLATION_STEPS, wavs, strict=True))
    ]
    parts.append(f"<h2>New instruments</h2><p>Notes (pitch {pitch}) from instrument embeddings "
                 f"interpolated between {html.escape(a)} and {html.escape(b)}.</p>"
                 f'<div class="note">{"".join(cells)}</div>')
    return "".join(parts)
