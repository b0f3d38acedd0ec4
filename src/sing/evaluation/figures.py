"""Pictures and sounds for the report, as bytes (PNG, WAV) and ``data:`` URIs."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Sequence

import numpy as np

logger = logging.getLogger(__name__)


def data_uri(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,...`` of ``data``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def log_spectrogram(wav: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """``log(1 + |STFT|^2)`` of ``wav: ndarray[T]`` (Hann window, no centering):
    ``ndarray[n_fft // 2 + 1, frames]``, the representation of the spectral loss."""
    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    window = np.hanning(n_fft + 1)[:-1]  # periodic Hann, as torch.hann_window
    spec = np.fft.rfft(frames * window, axis=1)
    return np.log1p(np.abs(spec) ** 2).T


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    plt.close(fig)
    return buf.getvalue()


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def power_db(wav: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """Power spectrogram in dB, ``10 log10(|STFT|^2 + 1e-10)``: ``ndarray[F, frames]``."""
    return 10.0 * np.log10(np.expm1(log_spectrogram(wav, n_fft, hop)) + 1e-10)


def spectrogram_png(
    wav: np.ndarray, sample_rate: int, title: str = "", vmax: float | None = None,
    range_db: float = 80.0,
) -> bytes:
    """PNG of the log-power spectrogram (dB) of ``wav: ndarray[T]`` (time in s, frequency in
    kHz), ``range_db`` below ``vmax`` (default: its own loudest bin)."""
    plt = _pyplot()
    spec = power_db(wav)
    top = vmax if vmax is not None else float(spec.max())
    fig, ax = plt.subplots(figsize=(3.2, 1.9), dpi=80)
    duration = len(wav) / sample_rate
    ax.imshow(
        spec, origin="lower", aspect="auto", cmap="magma", vmin=top - range_db, vmax=top,
        extent=(0.0, duration, 0.0, sample_rate / 2000.0),
    )
    ax.set_xlabel("time (s)", fontsize=7)
    ax.set_ylabel("kHz", fontsize=7)
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout(pad=0.3)
    return _png(fig)


def tsne_png(
    embeddings: np.ndarray, labels: Sequence[str], families: Sequence[str], seed: int = 0
) -> bytes:
    """PNG of a 2-D t-SNE of instrument ``embeddings: ndarray[N, D]`` coloured by family
    (the paper's Figure 4); each point is labelled with its instrument name."""
    from sklearn.manifold import TSNE

    plt = _pyplot()
    n = len(embeddings)
    if n >= 3:
        perplexity = float(min(30.0, max(1.0, (n - 1) / 3.0)))
        points = TSNE(  # exact gradients: far faster than Barnes-Hut for a few hundred points
            n_components=2, perplexity=perplexity, random_state=seed, init="pca",
            method="exact" if n <= 500 else "barnes_hut", max_iter=500,
        ).fit_transform(np.asarray(embeddings, dtype=np.float64))
    else:  # t-SNE needs a few points; fall back to the first two dimensions
        points = np.zeros((n, 2))
        d = min(2, embeddings.shape[1])
        points[:, :d] = embeddings[:, :d]
    fig, ax = plt.subplots(figsize=(6.0, 4.5), dpi=90)
    names = sorted(set(families))
    cmap = plt.get_cmap("tab20" if len(names) > 10 else "tab10")
    for k, fam in enumerate(names):
        sel = [i for i, f in enumerate(families) if f == fam]
        ax.scatter(points[sel, 0], points[sel, 1], color=cmap(k % cmap.N), label=fam, s=40)
    if n <= 60:
        for i, label in enumerate(labels):
            ax.annotate(label, points[i], fontsize=6, alpha=0.8)
    ax.legend(fontsize=7, loc="best", ncol=2)
    ax.set_title("t-SNE of the learned instrument embeddings", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return _png(fig)
