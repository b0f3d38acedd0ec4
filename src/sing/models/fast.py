"""Fast inference for a trained SING model: same weights, same output length, no retraining.

:class:`FastSING` is an inference-only copy of a :class:`~sing.models.sing.SING` model, callable
like it: ``(instrument[B], pitch[B], velocity[B]) -> wav Tensor[B, T]``::

    fast = FastSING(model, dtype=torch.bfloat16)
    wav = fast(instrument, pitch, velocity)          # float32 Tensor[B, T]

What makes it fast (see docs/benchmarks.md, section "Generation", for the figures):

* The decoder runs as matrix products instead of convolutions. Its first
  ``Conv1d(frame_dim, channels, k)`` is one GEMM on the unfolded frames
  ``[B*(L-k+1), frame_dim*k]``; each 1x1 "rewrite" convolution is a GEMM with the ReLU fused;
  the windowed ``ConvTranspose1d(channels, 1, window, stride)`` is a GEMM to
  ``window``-sample frames followed by an overlap-add with hop ``stride``. On CPUs with
  AVX-512-bf16 / AMX, bf16 GEMMs run several times faster than fp32 ones, whereas bf16
  convolutions are *slower* than fp32 ones: the GEMM form is what lets bf16 pay off.
* On the CPU the GEMM weights are packed once for oneDNN (``torch.ops.mkldnn``), which also
  makes batch-1 matrix-vector products faster; elsewhere (CUDA) plain ``F.linear`` is used.
* The squared-Hann window of the output layer is applied once, when the copy is built.
* Decoder positions whose samples are all cut away (the transposed convolution's padding and the
  strip back to the note) are never computed.
* The sequence generator keeps PyTorch's fused LSTM (oneDNN on the CPU, cuDNN on CUDA) with its
  weights cast to ``dtype``; the frames projection is a GEMM.
* On the CPU the work is spread over ``workers`` threads (default: torch's thread count) that
  each run torch with ONE intra-op thread. The LSTM is 265 x num_layers small sequential steps;
  with two intra-op threads every step ends on a thread barrier, and on a busy machine a
  barrier waits for a descheduled thread (measured here: 6.4 s instead of 0.11 s for one note's
  LSTM). So many notes are split between workers, and for fewer notes than workers (batch 1)
  one worker runs the LSTM while the others decode chunks of positions as soon as their frames
  are ready, the LSTM's worker joining them when it is done. With ``lstm_window`` smaller than
  the note the decoder overlaps the LSTM; the default is one LSTM call per note, because each
  call re-packs the LSTM weights (about 4.5 ms per call here, more than the overlap saves).
  On CUDA everything runs in the calling thread.

In float32 the output matches ``model(...)`` to rounding (the tests check ``allclose``); in
bfloat16 the spectral loss between the two stays far below 1% of the signal's log-power.
``dtype=torch.int8`` (CPU only) runs the GEMMs and the LSTM with int8 weights and
dynamically quantised activations (:mod:`sing.models.int8`): every part by default, or only the
parts named in ``int8_parts`` (the others in float32; :func:`sing.models.int8_plan.plan_int8`
chooses them so that the spectral loss against float32 stays below a budget of the log-power).

The copy is a snapshot: build it again after the model's weights change.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from sing.dsp.overlap_add import overlap_add
from sing.models import frames as F_
from sing.models.int8 import Int8Linear, Int8LSTM

if TYPE_CHECKING:
    from sing.models.config import SingConfig
    from sing.models.sing import SING

logger = logging.getLogger(__name__)

__all__ = ["FastSING", "GemmLinear", "cpu_has_native_bf16", "int8_part_flops", "int8_part_names"]


def _mkldnn_ops_available() -> bool:
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(torch.ops, "mkldnn")
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX). Without it (e.g. an
    AVX2-only CPU) oneDNN emulates bf16 and the fast path is several times slower in bf16
    than in float32. True when it cannot be told (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = f.read()
    except OSError:
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


_POOLS: dict[tuple[str, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _one_intra_op_thread(started: threading.Barrier) -> None:
    torch.get_num_threads()  # torch's lazy per-thread init first: it copies the global count
    torch.set_num_threads(1)  # OpenMP's thread count is per thread: this worker only
    started.wait()


def _pool(name: str, size: int) -> ThreadPoolExecutor:
    """A shared pool of ``size`` worker threads, each running torch with one intra-op thread.

    ``torch.set_num_threads`` also sets the default that threads started later inherit; the
    caller's count is restored once every worker is up, so other threads keep theirs.
    """
    with _POOLS_LOCK:
        pool = _POOLS.get((name, size))
        if pool is None:
            threads = torch.get_num_threads()
            started = threading.Barrier(size + 1)
            pool = ThreadPoolExecutor(size, thread_name_prefix=f"sing-fast-{name}")
            for _ in range(size):
                pool.submit(_one_intra_op_thread, started)
            started.wait()
            torch.set_num_threads(threads)
            _POOLS[(name, size)] = pool
        return pool


class GemmLinear:
    """``y = act(x @ weight.T + bias)`` with the weight prepared once for fast inference.

    On the CPU the weight is packed for oneDNN (bf16 and fp32 GEMMs and matrix-vector products,
    ReLU fused); anywhere else, or if oneDNN refuses the weight, ``F.linear`` is used.

    Args:
        weight: Tensor[out_features, in_features].
        bias: Tensor[out_features] or None.
        dtype: compute dtype (inputs are cast to it; outputs have it).
        relu: apply a ReLU to the output.
        packed: allow the oneDNN packed path (``False`` forces ``F.linear``, e.g. for tests).
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        dtype: torch.dtype,
        relu: bool = False,
        packed: bool = True,
    ) -> None:
        self.dtype = dtype
        self.relu = relu
        self.weight = weight.detach().to(dtype).contiguous()
        self.bias = None if bias is None else bias.detach().to(dtype).contiguous()
        self.out_features, self.in_features = self.weight.shape
        self.packed_weight: torch.Tensor | None = None
        if packed and self.weight.device.type == "cpu" and _mkldnn_ops_available():
            self.packed_weight = self._pack()

    def _pack(self) -> torch.Tensor | None:
        """oneDNN-packed weight, or None when this build/CPU cannot run it correctly."""
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(self.weight, None)
            probe = torch.linspace(-1, 1, 3 * self.in_features, dtype=torch.float32)
            probe = probe.reshape(3, self.in_features).to(self.dtype)
            got = self._packed_call(probe, packed).float()
            want = self._plain_call(probe).float()
        except (RuntimeError, NotImplementedError) as err:  # pragma: no cover - build-specific
            logger.debug("oneDNN packed linear unavailable (%s), using F.linear", err)
            return None
        tol = 1e-4 if self.dtype == torch.float32 else 3e-2
        scale = want.abs().max().clamp_min(1e-6)
        if not bool(((got - want).abs().max() / scale) <= tol):  # pragma: no cover
            logger.debug("oneDNN packed linear disagrees with F.linear; using F.linear")
            return None
        return packed

    def _packed_call(self, x: torch.Tensor, packed: torch.Tensor) -> torch.Tensor:
        attr = "relu" if self.relu else "none"
        return torch.ops.mkldnn._linear_pointwise(x, packed, self.bias, attr, [], "")

    def _plain_call(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        return F.relu_(y) if self.relu else y

    def __call__(self, x: torch.Tensor, consume: bool = False) -> torch.Tensor:
        """x: Tensor[N, in_features] -> Tensor[N, out_features] in ``dtype`` (``consume``: x
        is the caller's temporary; unused here, see :class:`sing.models.int8.Int8Linear`)."""
        x = x.to(self.dtype)
        if self.packed_weight is not None:
            return self._packed_call(x.contiguous(), self.packed_weight)
        return self._plain_call(x)

    @property
    def flops_per_row(self) -> int:
        """Multiply-adds x 2 per input row."""
        return 2 * self.in_features * self.out_features


def int8_part_names(config: SingConfig) -> tuple[str, ...]:
    """The parts of a model that ``FastSING(..., dtype=torch.int8, int8_parts=...)`` can run in
    int8, in network order: ``lstm``, ``frames`` (the frames projection), ``first`` (the
    decoder's context convolution), ``rewrite0``... (its 1x1 convolutions), ``output`` (the
    transposed convolution)."""
    rewrites = tuple(f"rewrite{i}" for i in range(config.rewrite_layers))
    return ("lstm", "frames", "first", *rewrites, "output")


def int8_part_flops(config: SingConfig) -> dict[str, int]:
    """FLOPs (2 per multiply-add) per LSTM step / decoder position of each int8 part."""
    h, d, c = config.hidden_size, config.frame_dim, config.channels
    lstm = sum(8 * h * ((config.input_dim if layer == 0 else h) + h)
               for layer in range(config.num_layers))
    flops = {"lstm": lstm, "frames": 2 * h * d, "first": 2 * d * config.context_size * c,
             "output": 2 * c * config.window}
    flops.update({f"rewrite{i}": 2 * c * c for i in range(config.rewrite_layers)})
    return {name: flops[name] for name in int8_part_names(config)}


class FastSING:
    """Inference-only SING: fused LSTM in ``dtype`` + decoder as GEMMs + overlap-add
    (``dtype``: float32, bfloat16, float16, or int8 on the CPU: :mod:`sing.models.int8`).

    Build it with ``FastSING(model, dtype)`` (or get the cached copy from
    :func:`sing.generation.fast_copy`); call it like the model.
    """

    def __init__(
        self,
        model: SING,
        dtype: torch.dtype = torch.bfloat16,
        lstm_dtype: torch.dtype | None = None,
        packed: bool = True,
        chunk_notes: int = 16,
        workers: int | None = None,
        lstm_window: int | None = None,
        decode_chunk: int = 32,
        int8_parts: Iterable[str] | None = None,
    ) -> None:
        if dtype not in (torch.float32, torch.bfloat16, torch.float16, torch.int8):
            raise ValueError(f"unsupported dtype {dtype} (float32, bfloat16, float16 or int8)")
        self.config = model.config
        self.dtype = dtype
        self.device = next(model.parameters()).device
        int8 = dtype == torch.int8
        if int8 and self.device.type != "cpu":
            raise ValueError(f"int8 generation runs on the CPU, not {self.device}")
        names = int8_part_names(model.config)
        if int8_parts is not None and not int8:
            raise ValueError("int8_parts is for dtype=torch.int8")
        chosen = frozenset(names if int8_parts is None else int8_parts) if int8 else frozenset()
        if chosen - set(names):
            raise ValueError(f"unknown int8 parts {sorted(chosen - set(names))} "
                             f"(valid: {', '.join(names)})")
        #: The parts computing in int8 (:func:`int8_part_names`); empty unless dtype is int8.
        self.int8_parts = chosen
        #: The dtype of the activations between layers (int8: float32, quantised per call).
        self.act_dtype = torch.float32 if int8 else dtype
        self.lstm_dtype = torch.float32 if int8 else (lstm_dtype or dtype)
        self.chunk_notes = max(1, int(chunk_notes))
        self.workers = max(1, int(workers if workers is not None else torch.get_num_threads()))
        # Each LSTM call re-packs the LSTM's weights (~4.5 ms for the paper's sizes on the CPU):
        # by default the whole note is one call.
        self.lstm_window = max(1, int(lstm_window or self.config.num_frames))
        self.decode_chunk = max(1, int(decode_chunk))
        generator, decoder = model.generator, model.decoder
        bf16 = torch.bfloat16 in (self.dtype, self.lstm_dtype)
        if bf16 and self.device.type == "cpu" and not cpu_has_native_bf16():
            logger.warning("this CPU has no native bfloat16 (AVX-512 BF16 / AMX): bfloat16 "
                           "generation is several times slower than float32 here")

        def linear(part: str, weight: torch.Tensor, bias: torch.Tensor | None,
                   relu: bool = False):
            if part in chosen:
                return Int8Linear(weight, bias, relu=relu)
            return GemmLinear(weight, bias, self.act_dtype, relu=relu, packed=packed)

        # -- sequence generator: the model's own embeddings, a fused LSTM copy in lstm_dtype -----
        self._generator = generator
        if "lstm" in chosen:
            self.lstm = Int8LSTM(generator.lstm)
        else:
            self.lstm = copy.deepcopy(generator.lstm).to(self.lstm_dtype).eval()
            self.lstm.requires_grad_(False)
        out = generator.output
        self.frames_linear = linear("frames", out.weight, out.bias)
        # -- decoder: conv(k) -> GEMM on unfolded frames, 1x1 convs -> GEMMs, conv-transpose ----
        convs = [m for m in decoder.layers if isinstance(m, nn.Conv1d)]
        first, rewrites = convs[0], convs[1:]
        channels, frame_dim, k = first.weight.shape
        self.context = k
        self.first = linear("first", first.weight.reshape(channels, frame_dim * k), first.bias,
                            relu=True)
        self.rewrites = [linear(f"rewrite{i}", c.weight[:, :, 0], c.bias, relu=True)
                         for i, c in enumerate(rewrites)]
        last = decoder.layers[-1]
        with torch.no_grad():
            windowed = last.windowed_weight().float()  # [channels, 1, window]
        self.window = windowed.shape[-1]
        self.stride = last.stride[0]
        self.padding = last.padding[0]
        self.output = linear("output", windowed[:, 0, :].t(), None)
        self.output_bias = last.bias.detach().float().clone() if last.bias is not None else None

    # -- sequence generator --------------------------------------------------------------------
    @torch.inference_mode()
    def frames(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        instrument_embedding: torch.Tensor | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """Frames of a whole note (or of its first ``steps``: the LSTM is causal).

        Args:
            instrument, pitch, velocity: LongTensor[B] (model indices).
            instrument_embedding: Tensor[B, instrument_dim] instead of ``instrument``.
        Returns:
            Tensor[B, frame_dim, L] in ``dtype``, the decoder's layout (L = num_frames, 265 for
            the paper, or ``steps``).
        """
        x = self._generator.inputs(
            instrument, pitch, velocity, 0, steps, instrument_embedding=instrument_embedding
        ).to(self.lstm_dtype)
        hidden, _ = self.lstm(x)  # [B, L, H]
        b, length, h = hidden.shape
        rows = self.frames_linear(hidden.reshape(b * length, h), consume=True)  # [B*L, D]
        return rows.reshape(b, length, -1).transpose(1, 2)

    @torch.inference_mode()
    def prefix(
        self, instrument: torch.Tensor, pitch: torch.Tensor, velocity: torch.Tensor, steps: int
    ) -> torch.Tensor:
        """The decoder's output of a note's first ``steps`` frames (the LSTM is causal: they
        are the whole note's first frames), unstripped: float32 Tensor[B, decoded_length(steps)].
        A cheap stand-in for whole notes when comparing two copies (:mod:`sing.models.int8_plan`).
        """
        steps = min(int(steps), self.config.num_frames)
        return self.decode(self.frames(instrument, pitch, velocity, steps=steps), strip=False)

    # -- decoder -------------------------------------------------------------------------------
    def _positions(self, num_frames: int, strip: bool) -> tuple[int, int, int]:
        """:func:`sing.models.frames.decoder_positions` for this model's geometry."""
        return F_.decoder_positions(num_frames, self.config.note_length if strip else None,
                                    self.config)

    def _keep(self, num_frames: int, strip: bool) -> int:
        if strip:
            return self.config.note_length
        return F_.decoded_length(num_frames, self.config)

    def pieces(
        self, frames: torch.Tensor, start: int, stop: int, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Output-layer frames of decoder positions ``[start, stop)``, before the overlap-add.

        Args:
            frames: Tensor[B, frame_dim, >= stop + k - 1] (the decoder's layout).
            mask: bool Tensor[B, stop - start]: compute only these (note, position) rows; the
                others are zeros (see :meth:`position_mask`).
        Returns:
            float32 Tensor[B, stop - start, window]: position j's ``window`` output samples.
        """
        b, d, _ = frames.shape
        n, k = stop - start, self.context
        # im2col: row j = frames j..j+k-1, ordered (D, k) like the conv weight.
        cols = frames[:, :, start : stop + k - 1].unfold(2, k, 1).transpose(1, 2)  # [B,n,D,k]
        rows = cols.reshape(b * n, d * k) if mask is None else cols[mask].reshape(-1, d * k)
        # rows is a copy of the frames (unfold + reshape, or the mask) except in corner cases
        own = rows.untyped_storage().data_ptr() != frames.untyped_storage().data_ptr()
        h = self.first(rows, consume=own)
        for layer in self.rewrites:
            h = layer(h, consume=True)
        out = self.output(h, consume=True).float()
        if mask is None:
            return out.reshape(b, n, self.window)
        full = torch.zeros(b, n, self.window, dtype=torch.float32, device=out.device)
        full[mask] = out
        return full

    def position_mask(self, ranges: list[list[tuple[int, int]]]) -> torch.Tensor:
        """The decoder positions each note needs for the samples it will use.

        Args:
            ranges: per note, sample ranges ``[a, b)`` of the stripped note (T samples).
        Returns:
            bool Tensor[B, P] for :meth:`decode`'s ``mask`` (P: the positions it computes):
            samples inside the ranges come out exactly as without a mask, the others are
            partial sums (not to be used).
        """
        return torch.from_numpy(F_.position_mask(ranges, self.config, self.config.num_frames,
                                                 self.config.note_length))

    def overlap_add(self, pieces: torch.Tensor, offset: int, keep: int) -> torch.Tensor:
        """Sum the pieces with hop ``stride``, keep ``[offset, offset + keep)``, add the bias.

        Args:
            pieces: float32 Tensor[B, n, window] (consecutive positions).
        Returns:
            float32 Tensor[B, keep].
        """
        wav = overlap_add(pieces.float(), self.stride)[:, offset : offset + keep]
        if self.output_bias is not None:
            wav = wav + self.output_bias.to(wav.device)
        return wav

    @torch.inference_mode()
    def decode(
        self, frames: torch.Tensor, strip: bool = True, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Decoder on frames.

        Args:
            frames: Tensor[B, frame_dim, L] (as :meth:`frames` returns and the decoder takes).
            strip: cut to the note (T samples) like ``SING.forward``; else the decoder's full
                ``decoded_length(L)`` samples.
            mask: bool Tensor[B, P] from :meth:`position_mask` (with ``strip``): decode only
                the positions each note needs.
        Returns:
            float32 Tensor[B, T] (or [B, decoded_length(L)]).
        """
        length = frames.shape[2]
        first, end, offset = self._positions(length, strip)
        if mask is not None and (not strip or mask.shape != (frames.shape[0], end - first)):
            raise ValueError(f"mask must be [B, {end - first}] (from position_mask), with strip")
        pieces = self.pieces(frames, first, end, mask)
        return self.overlap_add(pieces, offset, self._keep(length, strip))

    # -- the model call ------------------------------------------------------------------------
    def _serial(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        strip: bool,
        instrument_embedding: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Sequence generator, then the decoder on ``chunk_notes`` notes at a time."""
        with torch.inference_mode():
            frames = self.frames(instrument, pitch, velocity, instrument_embedding)
            out = [
                self.decode(frames[i : i + self.chunk_notes], strip=strip,
                            mask=None if mask is None else mask[i : i + self.chunk_notes])
                for i in range(0, frames.shape[0], self.chunk_notes)
            ]
        return torch.cat(out) if len(out) > 1 else out[0]

    def _pipelined(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        strip: bool,
        instrument_embedding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Few notes: the decoder runs beside the LSTM on the frames already made.

        Worker 0 runs the LSTM ``lstm_window`` steps at a time (carrying its state) into a
        frames buffer, then helps decode; the other workers decode chunks of
        ``decode_chunk`` positions as soon as their frames are ready. The chunks' pieces are
        overlap-added at the end. Each worker uses one intra-op thread: no barrier per step.
        """
        b, length = pitch.shape[0], self.config.num_frames
        buffer = torch.empty(b, self.config.frame_dim, length, dtype=self.act_dtype)
        first, end, offset = self._positions(length, strip)
        k, size = self.context, self.decode_chunk
        chunks = [(j, min(j + size, end)) for j in range(first, end, size)]
        pieces: list[torch.Tensor | None] = [None] * len(chunks)
        cond = threading.Condition()
        progress: dict = {"ready": 0, "next": 0, "failed": False}

        def decode_chunks() -> None:
            while True:
                with cond:
                    index = progress["next"]
                    if index >= len(chunks) or progress["failed"]:
                        return
                    progress["next"] += 1
                    start, stop = chunks[index]
                    needed = stop + k - 1  # frames [0, needed) feed positions [start, stop)
                    while progress["ready"] < needed and not progress["failed"]:
                        cond.wait()
                    if progress["failed"]:
                        return
                with torch.inference_mode():
                    pieces[index] = self.pieces(buffer, start, stop)

        def run_lstm() -> None:
            try:
                with torch.inference_mode():
                    state = None
                    for start in range(0, length, self.lstm_window):
                        n = min(self.lstm_window, length - start)
                        x = self._generator.inputs(
                            instrument, pitch, velocity, start, n, instrument_embedding
                        )
                        hidden, state = self.lstm(x.to(self.lstm_dtype), state)
                        rows = self.frames_linear(hidden.reshape(b * n, -1), consume=True)
                        buffer[:, :, start : start + n] = rows.reshape(b, n, -1).transpose(1, 2)
                        with cond:
                            progress["ready"] = start + n
                            cond.notify_all()
            except BaseException:
                with cond:
                    progress["failed"] = True
                    cond.notify_all()
                raise
            decode_chunks()

        pool = _pool("pipeline", self.workers)
        futures = [pool.submit(run_lstm)]
        futures += [pool.submit(decode_chunks) for _ in range(self.workers - 1)]
        for future in futures:
            future.result()
        return self.overlap_add(torch.cat(pieces, 1), offset, self._keep(length, strip))

    def _split(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        strip: bool,
        instrument_embedding: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Many notes: each worker (one intra-op thread) generates a contiguous share of them."""
        shares = torch.arange(pitch.shape[0]).tensor_split(self.workers)
        pool = _pool("notes", self.workers)
        futures = [
            pool.submit(
                self._serial,
                None if instrument is None else instrument[ix],
                pitch[ix],
                velocity[ix],
                strip,
                None if instrument_embedding is None else instrument_embedding[ix],
                None if mask is None else mask[ix],
            )
            for ix in shares
            if len(ix)
        ]
        return torch.cat([f.result() for f in futures])

    def __call__(
        self,
        instrument: torch.Tensor | None,
        pitch: torch.Tensor,
        velocity: torch.Tensor,
        strip: bool = True,
        instrument_embedding: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Generate notes like ``SING.forward``.

        On the CPU with ``workers`` > 1, work is spread over that many threads of one intra-op
        thread each (the LSTM's many small steps otherwise stall on thread barriers, badly so
        on a busy machine): notes are split between workers, or, for fewer notes than workers,
        the decoder runs beside the LSTM on the frames already made.

        Args:
            instrument, pitch, velocity: LongTensor[B] (model indices).
            strip: as in ``SING.forward``.
            instrument_embedding: Tensor[B, instrument_dim] instead of ``instrument`` (a blend
                of instruments, :mod:`sing.models.blend`); ``instrument`` may then be None.
            mask: bool Tensor[B, P] from :meth:`position_mask`: decode only the positions each
                note needs (e.g. ``sing render`` skips what a short note never plays).
        Returns:
            float32 Tensor[B, T] (T = ``config.note_length``; ``decoded_length`` if not strip).
        """
        args = (instrument, pitch, velocity, strip, instrument_embedding)
        if self.workers < 2 or self.device.type != "cpu":
            return self._serial(*args, mask=mask)
        if pitch.shape[0] >= self.workers:
            return self._split(*args, mask=mask)
        if mask is not None:
            return self._serial(*args, mask=mask)
        return self._pipelined(*args)

    def flops_per_note(self) -> dict[str, int]:
        """Multiply-add FLOPs (x2) of one note, by part, for the positions actually computed."""
        c = self.config
        steps = c.num_frames
        gates = 4 * c.hidden_size
        lstm = 0
        for layer in range(c.num_layers):
            width = c.input_dim if layer == 0 else c.hidden_size
            lstm += 2 * steps * gates * (width + c.hidden_size)
        lstm += steps * self.frames_linear.flops_per_row
        first, end, _ = self._positions(steps, strip=True)
        n = end - first
        decoder = n * (
            self.first.flops_per_row
            + sum(r.flops_per_row for r in self.rewrites)
            + self.output.flops_per_row
        )
        return {"sequence_generator": lstm, "decoder": decoder, "total": lstm + decoder}
