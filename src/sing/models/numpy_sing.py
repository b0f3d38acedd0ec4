"""SING's inference in NumPy: the network of :mod:`sing.models.sing`, float32, without torch.

:class:`NumpySING` runs the same weights as :class:`~sing.models.sing.SING` (the sequence
generator's lookup tables, time embedding, LSTM and linear layer to frames; the decoder's
convolutions) with NumPy matrix products, in the GEMM form of :mod:`sing.models.fast`::

    model = load_numpy_model("gm.safetensors")      # no torch imported
    wav = model(instrument, pitch, velocity)        # float32 ndarray[B, T]

Why a second implementation: ``import torch`` alone takes about 1.3 s of a fresh process on
the machines measured (docs/benchmarks.md), longer than generating and mixing the notes of a
whole piece with the small shipped model. ``sing render`` with float32 on the CPU therefore
runs this path, and a fresh render starts in the time NumPy takes to import. Torch stays the
path for training, bfloat16 / int8 and GPUs.

The two implementations are kept side by side behind one consistency test
(``tests/models/test_numpy_sing.py``: the same notes from both, blends and decoder masks
included, agree to float32 rounding), and each piece is computed as the torch layers define
it:

* LSTM: ``nn.LSTM``'s gates ``i, f, g, o`` (stacked in that order in ``weight_ih`` /
  ``weight_hh``), ``c' = f*c + i*g``, ``h' = o*tanh(c')``, zero initial state; the first
  layer's input product is split into the per-note symbols' part (one row per note) and the
  time embedding's part (one row per step, shared by all notes), since the input is their
  concatenation.
* decoder: ``Conv1d(D, C, k)`` as one product on the unfolded frames, each 1x1 convolution as
  a product (ReLUs after each), and the squared-Hann-windowed ``ConvTranspose1d(C, 1,
  window, stride)`` as a product to ``window``-sample pieces summed with hop ``stride``; only
  the decoder positions whose samples survive the strip are computed
  (:func:`sing.models.frames.decoder_positions`), and with a ``mask`` only the ones a caller
  uses (:func:`sing.models.frames.position_mask`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sing.errors import SingError
from sing.models import frames as F_
from sing.models.config import SingConfig
from sing.models.shapes import state_shapes

if TYPE_CHECKING:
    from sing.data.vocabulary import Vocabulary
    from sing.models.header import ModelInfo
    from sing.models.sing import SING

__all__ = ["NumpySING", "load_numpy_model", "squared_hann"]


def squared_hann(length: int) -> np.ndarray:
    """The periodic Hann window squared, float32[length], computed in float64 as torch's
    ``hann_window(length, periodic=True)`` is (``0.5 - 0.5 cos(2 pi n / length)``)."""
    n = np.arange(length, dtype=np.float64)
    window = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / length)
    return (window**2).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, written with tanh: no overflow for any float32 input."""
    return np.tanh(x * 0.5) * 0.5 + 0.5


class NumpySING:
    """Inference-only SING in NumPy float32: ``(instrument[B], pitch[B], velocity[B]) ->
    wav ndarray[B, T]``.

    Args:
        config: the model's :class:`~sing.models.config.SingConfig`.
        vocabulary: its vocabulary (what :mod:`sing.generation` resolves notes against).
        state: the ``SING`` state dict as arrays (names and shapes of
            :func:`sing.models.shapes.state_shapes`; any float dtype, used as float32).
        chunk_notes: notes decoded at once (bounds the decoder's memory).
    Raises:
        ValueError: ``state`` does not have the tensors ``config`` implies.
    """

    kind = "sing"

    def __init__(self, config: SingConfig, vocabulary: Vocabulary | None,
                 state: Mapping[str, np.ndarray], chunk_notes: int = 16) -> None:
        want = state_shapes("sing", config)
        if set(state) != set(want):
            raise ValueError(f"state has {sorted(set(state) ^ set(want))[:3]} in excess or "
                             "missing for this config")
        for name, shape in want.items():
            if tuple(state[name].shape) != shape:
                raise ValueError(f"{name}: shape {tuple(state[name].shape)}, {shape} expected")
        self.config = config
        self.vocabulary = vocabulary
        self.info: ModelInfo | None = None
        self.chunk_notes = max(1, int(chunk_notes))

        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(state[name], dtype=np.float32)

        g = "generator."
        self.velocity_table = get(g + "velocity_embedding.weight")
        self.instrument_table = get(g + "instrument_embedding.weight")
        self.pitch_table = get(g + "pitch_embedding.weight")
        self.time_table = get(g + "time_embedding.weight") if config.time_embedding else None
        #: per layer: (W_ih^T [in, 4H], W_hh^T [H, 4H], b_ih + b_hh [4H])
        self.lstm = [
            (get(f"{g}lstm.weight_ih_l{k}").T.copy(), get(f"{g}lstm.weight_hh_l{k}").T.copy(),
             get(f"{g}lstm.bias_ih_l{k}") + get(f"{g}lstm.bias_hh_l{k}"))
            for k in range(config.num_layers)
        ]
        self.frames_weight = get(g + "output.weight").T.copy()  # [H, D]
        self.frames_bias = get(g + "output.bias")
        c, d, k = config.channels, config.frame_dim, config.context_size
        self.first = (get("decoder.layers.0.weight").reshape(c, d * k).T.copy(),
                      get("decoder.layers.0.bias"))
        self.rewrites = [(get(f"decoder.layers.{2 + 2 * i}.weight")[:, :, 0].T.copy(),
                          get(f"decoder.layers.{2 + 2 * i}.bias"))
                         for i in range(config.rewrite_layers)]
        last = 2 + 2 * config.rewrite_layers
        window = squared_hann(config.window)
        self.output_weight = get(f"decoder.layers.{last}.weight")[:, 0, :] * window  # [C, w]
        self.output_bias = float(get(f"decoder.layers.{last}.bias")[0])

    @classmethod
    def from_model(cls, model: SING, chunk_notes: int = 16) -> NumpySING:
        """The NumPy copy of a torch :class:`~sing.models.sing.SING` (its weights now)."""
        state = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
        copy = cls(model.config, getattr(model, "vocabulary", None), state, chunk_notes)
        copy.info = getattr(model, "info", None)
        return copy

    # -- sequence generator --------------------------------------------------------------------
    def symbols(self, instrument: Sequence[int] | np.ndarray | None, pitch: Sequence[int],
                velocity: Sequence[int], instrument_embedding: np.ndarray | None = None
                ) -> np.ndarray:
        """The per-note part of the LSTM input: [velocity, instrument, pitch] embeddings,
        float32[B, velocity_dim + instrument_dim + pitch_dim] (the step's time embedding is
        appended by :meth:`frames`)."""
        pitch = np.asarray(pitch, dtype=np.int64)
        velocity = np.asarray(velocity, dtype=np.int64)
        if instrument_embedding is None:
            if instrument is None:
                raise ValueError("give instrument indices or an instrument_embedding")
            emb = self.instrument_table[np.asarray(instrument, dtype=np.int64)]
        else:
            emb = np.asarray(instrument_embedding, dtype=np.float32)
            if emb.shape != (len(pitch), self.config.instrument_dim):
                raise ValueError(f"instrument_embedding must be [B={len(pitch)}, "
                                 f"{self.config.instrument_dim}], not {list(emb.shape)}")
        return np.concatenate(
            [self.velocity_table[velocity], emb, self.pitch_table[pitch]], axis=1)

    def frames(self, instrument: Sequence[int] | np.ndarray | None, pitch: Sequence[int],
               velocity: Sequence[int], instrument_embedding: np.ndarray | None = None
               ) -> np.ndarray:
        """Frames of whole notes: float32[B, L, frame_dim] (L = ``config.num_frames``; note
        the layout: steps before features, unlike the torch decoder's [B, D, L])."""
        x = self.symbols(instrument, pitch, velocity, instrument_embedding)
        b, steps, width = x.shape[0], self.config.num_frames, x.shape[1]
        w_ih, w_hh, bias = self.lstm[0]
        gx = (x @ w_ih[:width])[:, None, :] + bias  # [B, 1, 4H]
        if self.time_table is not None:
            gx = gx + (self.time_table[:steps] @ w_ih[width:])[None]  # + [1, L, 4H]
        else:
            gx = np.broadcast_to(gx, (b, steps, gx.shape[2]))
        hidden = self._recurrence(gx, w_hh)
        for w_ih, w_hh, bias in self.lstm[1:]:
            h = hidden.shape[2]
            gx = (hidden.reshape(b * steps, h) @ w_ih + bias).reshape(b, steps, -1)
            hidden = self._recurrence(gx, w_hh)
        h = hidden.shape[2]
        out = hidden.reshape(b * steps, h) @ self.frames_weight + self.frames_bias
        return out.reshape(b, steps, -1)

    @staticmethod
    def _recurrence(gx: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
        """One LSTM layer over all steps: ``gx`` [B, L, 4H] holds the input products and both
        biases; returns the hidden states float32[B, L, H]."""
        b, steps, four = gx.shape
        n = four // 4
        h = np.zeros((b, n), dtype=np.float32)
        c = np.zeros((b, n), dtype=np.float32)
        out = np.empty((b, steps, n), dtype=np.float32)
        for t in range(steps):
            gates = gx[:, t] + h @ w_hh
            i = _sigmoid(gates[:, :n])
            f = _sigmoid(gates[:, n : 2 * n])
            g = np.tanh(gates[:, 2 * n : 3 * n])
            o = _sigmoid(gates[:, 3 * n :])
            c = f * c + i * g
            h = o * np.tanh(c)
            out[:, t] = h
        return out

    # -- decoder -------------------------------------------------------------------------------
    def position_mask(self, ranges: list[list[tuple[int, int]]]) -> np.ndarray:
        """bool[B, P]: the decoder positions each note needs for the sample ranges it will use
        (:func:`sing.models.frames.position_mask`)."""
        return F_.position_mask(ranges, self.config, self.config.num_frames,
                                self.config.note_length)

    def decode(self, frames: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Decoder on frames [B, L, D] -> float32[B, T] (stripped to the note), decoding only
        the positions of ``mask`` (bool[B, P], :meth:`position_mask`) when given."""
        config = self.config
        b, length, d = frames.shape
        first, end, offset = F_.decoder_positions(length, config.note_length, config)
        n, k = end - first, config.context_size
        if mask is not None and mask.shape != (b, n):
            raise ValueError(f"mask must be [B, {n}] (from position_mask)")
        window = np.lib.stride_tricks.sliding_window_view(
            frames[:, first : end + k - 1], k, axis=1)  # [B, n, D, k]: conv weight's order
        rows = window.reshape(b * n, d * k) if mask is None else window[mask].reshape(-1, d * k)
        weight, bias = self.first
        h = np.maximum(rows @ weight + bias, 0)
        for weight, bias in self.rewrites:
            h = np.maximum(h @ weight + bias, 0)
        out = h @ self.output_weight  # [rows, window]
        if mask is None:
            pieces = out.reshape(b, n, -1)
        else:
            pieces = np.zeros((b, n, out.shape[1]), dtype=np.float32)
            pieces[mask] = out
        s, w = config.stride, config.window
        parts = pieces.reshape(b, n, w // s, s)
        full = np.zeros((b, n + w // s - 1, s), dtype=np.float32)
        for q in range(w // s):
            full[:, q : q + n] += parts[:, :, q]
        return full.reshape(b, -1)[:, offset : offset + config.note_length] + np.float32(
            self.output_bias)

    def __call__(self, instrument: Sequence[int] | np.ndarray | None, pitch: Sequence[int],
                 velocity: Sequence[int], instrument_embedding: np.ndarray | None = None,
                 mask: np.ndarray | None = None) -> np.ndarray:
        """Generate notes like ``SING.forward`` (stripped): float32 ndarray[B, T].

        Args:
            instrument, pitch, velocity: model indices per note (``pitch`` is MIDI).
            instrument_embedding: float32[B, instrument_dim] instead of ``instrument``
                (a blend, :mod:`sing.models.blend`).
            mask: bool[B, P] from :meth:`position_mask`: decode only those positions.
        """
        frames = self.frames(instrument, pitch, velocity, instrument_embedding)
        step = self.chunk_notes
        out = [self.decode(frames[i : i + step], None if mask is None else mask[i : i + step])
               for i in range(0, frames.shape[0], step)]
        return np.concatenate(out) if len(out) > 1 else out[0]

    def flops_per_note(self) -> int:
        """Multiply-add FLOPs (x2) of one whole note (every decoder position)."""
        c = self.config
        steps, g = c.num_frames, 4 * c.hidden_size
        lstm = sum(g * ((c.input_dim if k == 0 else c.hidden_size) + c.hidden_size)
                   for k in range(c.num_layers)) * steps
        first, end, _ = F_.decoder_positions(steps, c.note_length, c)
        per_position = c.channels * (c.frame_dim * c.context_size
                                     + c.rewrite_layers * c.channels + c.window)
        return 2 * (lstm + steps * c.hidden_size * c.frame_dim + (end - first) * per_position)


def numpy_readable(info: ModelInfo) -> bool:
    """Whether :func:`load_numpy_model` can load this file: a ``sing`` model stored as
    float32 / float16."""
    return info.kind == "sing" and info.numpy_readable


def load_numpy_model(path: str | Path, info: ModelInfo | None = None) -> NumpySING:
    """Load a SING model file into a :class:`NumpySING`, without importing torch.

    Every value of the file is validated first (:func:`sing.models.header.read_info`), and a
    NaN or infinite weight is refused; errors are one-line :class:`SingError` naming the file.

    Args:
        path: the .safetensors model file (float32 or float16 weights).
        info: its :class:`~sing.models.header.ModelInfo` when already read.
    """
    from sing.models.header import read_arrays, read_info
    from sing.models.validation import check_tensor_values

    info = info if info is not None else read_info(path)
    if info.kind != "sing":
        raise SingError(f"is a {info.kind} model file, a sing model is needed here", info.path)
    if not info.numpy_readable:
        raise SingError(f"weights stored as {info.dtype}: NumPy reads float32 / float16 "
                        "only (the torch path loads this file)", info.path)
    state = read_arrays(info.path)
    check_tensor_values(state, info.path)
    try:
        model = NumpySING(info.config, info.vocabulary, state)
    except ValueError as err:  # the file changed since its header was checked
        raise SingError(f"weights do not match its config ({err})", info.path) from None
    model.info = info
    return model

