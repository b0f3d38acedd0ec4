"""int8 matrix products for the CPU fast path (``dtype=torch.int8``): PyTorch's dynamic
quantisation with the fbgemm / x86 engine.

The arithmetic, which ``tests/models/test_int8.py`` reproduces in NumPy float64:

* **weights**, once: per output channel ``c``, symmetric, ``scale[c] = max|W[c]| / 127``
  (1 for an all-zero row), ``Wq[c] = clip(rint(W[c] / scale[c]), -127, 127)``;
* **activations**, at every call (dynamic): one affine uint8 scale per call over the whole
  input ``X``, on the 7-bit range 0..127 (``reduce_range``: the products of AVX2's
  ``vpmaddubsw`` then never saturate its int16 sums): ``lo = min(X.min(), 0)``,
  ``hi = max(X.max(), 0)``, ``s = (hi - lo) / 127``, ``z = rint(-lo / s)``,
  ``Xq = clip(rint(X / s) + z, 0, 255)`` (the clamp is uint8's: a value may round to 128);
* **product**: ``Y = ((Xq - z) @ Wq.T) * s * scale + bias``, int32 sums, float32 out.

:class:`Int8Linear` (the decoder's convolutions in GEMM form, the frames projection) first
divides each row of its input by the row's largest magnitude ``a`` (1 for a zero row) and
multiplies the product's rows back by ``a`` before the bias and the ReLU: the one activation
scale of the call then fits every row (a quiet note, or the quiet end of a note, batched with
loud ones keeps its resolution), and for the non-negative inputs after a ReLU the scale is
``1/127`` whatever else is in the batch. :class:`Int8LSTM` is ``torch.quantized_lstm`` with
such weights: per layer, the input projection of all steps is one product (one activation
scale for the whole sequence), the recurrent one is a product per step (a scale per step,
shared by the batch); gates, cell and hidden state are float32.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

__all__ = ["Int8LSTM", "Int8Linear", "int8_available", "quantize_weight"]

#: Activations are quantised to 0..127 (see the module docstring).
REDUCE_RANGE = True


def int8_available() -> bool:
    """Whether this torch build has the int8 CPU kernels (fbgemm / x86 engine)."""
    engines = torch.backends.quantized.supported_engines
    return any(e in engines for e in ("x86", "fbgemm"))


def _engine() -> None:
    if torch.backends.quantized.engine not in ("x86", "fbgemm"):
        torch.backends.quantized.engine = "x86" if "x86" in \
            torch.backends.quantized.supported_engines else "fbgemm"


def quantize_weight(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-output-channel symmetric int8 weights.

    Args:
        weight: Tensor[out, in].
    Returns:
        (int8 Tensor[out, in], float64 Tensor[out] of scales): ``weight ~ q * scale[:, None]``.
    """
    weight = weight.detach().to("cpu")
    qs, scales = [], []
    for block in weight.split(256):  # float64 temporaries of 256 rows, not of the whole matrix
        w = block.to(torch.float64, copy=True)
        amax = torch.maximum(w.amax(dim=1), w.amin(dim=1).neg())
        scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
        qs.append(w.div_(scale[:, None]).round_().clamp_(-127, 127).to(torch.int8))
        scales.append(scale)
    return torch.cat(qs), torch.cat(scales)


def _packed(weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """fbgemm-packed per-channel int8 weights (torch's quantized tensors, deprecated in
    torch 2.13 in favour of torchao, still the engine the CPU build ships)."""
    _engine()
    q, scale = quantize_weight(weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        qweight = torch._make_per_channel_quantized_tensor(
            q, scale, torch.zeros(len(scale), dtype=torch.long), 0)
        b = None if bias is None else bias.detach().float().cpu().contiguous()
        return torch.ops.quantized.linear_prepack(qweight, b)


class Int8Linear:
    """``y = act(x @ weight.T + bias)`` with int8 weights and dynamically quantised inputs
    (float32 in, float32 out); the interface of :class:`sing.models.fast.GemmLinear`.

    Args:
        weight: Tensor[out_features, in_features].
        bias: Tensor[out_features] or None.
        relu: apply a ReLU to the output (fused).
    """

    dtype = torch.float32  # what it takes and gives

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None,
                 relu: bool = False) -> None:
        self.relu = relu
        self.out_features, self.in_features = weight.shape
        self.packed = _packed(weight, None)
        self.bias = None if bias is None else bias.detach().float().cpu().contiguous()

    def __call__(self, x: torch.Tensor, consume: bool = False) -> torch.Tensor:
        """x: Tensor[N, in_features] -> float32 Tensor[N, out_features]. ``consume``: x is the
        caller's temporary and may be overwritten (saves a tensor as large as x: on the CPU
        each fresh large tensor costs its page faults)."""
        x = x.float()
        # max |x| per row without an |x| temporary
        rows = torch.maximum(x.amax(dim=1, keepdim=True), x.amin(dim=1, keepdim=True).neg_())
        rows = torch.where(rows > 0, rows, torch.ones_like(rows))
        scaled = x.div_(rows) if consume and x.is_contiguous() else (x / rows).contiguous()
        y = torch.ops.quantized.linear_dynamic(scaled, self.packed, REDUCE_RANGE)
        y.mul_(rows)
        if self.bias is not None:
            y.add_(self.bias)
        return y.relu_() if self.relu else y

    @property
    def flops_per_row(self) -> int:
        """Multiply-adds x 2 per input row."""
        return 2 * self.in_features * self.out_features


class Int8LSTM:
    """A batch-first ``nn.LSTM`` (no projections, one direction) with int8 weights, called
    like it: ``(x[B, L, in], (h, c) | None) -> (out[B, L, H], (h, c))``, float32."""

    def __init__(self, lstm: nn.LSTM) -> None:
        if lstm.bidirectional or lstm.proj_size or not lstm.batch_first or not lstm.bias:
            raise ValueError("Int8LSTM takes a batch-first, one-direction LSTM with biases")
        self.num_layers, self.hidden_size = lstm.num_layers, lstm.hidden_size
        self.params = []
        for layer in range(self.num_layers):
            w_ih, w_hh = (getattr(lstm, f"weight_{n}_l{layer}") for n in ("ih", "hh"))
            b_ih, b_hh = (getattr(lstm, f"bias_{n}_l{layer}").detach().float().cpu()
                          for n in ("ih", "hh"))
            self.params.append(torch.ops.quantized.make_quantized_cell_params_dynamic(
                _packed(w_ih, b_ih), _packed(w_hh, b_hh), b_ih, b_hh, REDUCE_RANGE))

    def __call__(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                 ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run the LSTM over ``x`` from ``state`` (zeros if None)."""
        x = x.float().contiguous()
        if state is None:
            zeros = torch.zeros(self.num_layers, x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        out, h, c = torch.quantized_lstm(
            x, (state[0].float(), state[1].float()), self.params, True, self.num_layers, 0.0,
            False, False, True, dtype=torch.qint8, use_dynamic=True)
        return out, (h, c)
