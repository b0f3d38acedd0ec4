"""The tensors a model file of each kind holds, computed from its config without torch.

:func:`state_shapes` is what :mod:`sing.models.validation` checks a file's header against
before anything is read or sized from it. It is plain arithmetic on the config, so model
files validate (and :mod:`sing.models.numpy_sing` loads) in a process that never imports
torch; ``tests/models/test_shapes.py`` holds it equal to the ``state_dict`` of the torch
modules built on the ``meta`` device, for every preset and both kinds.
"""

from __future__ import annotations

from sing.models.config import SingConfig

#: The model kinds a file may hold (``kind`` in its metadata).
KINDS: tuple[str, ...] = ("sing", "autoencoder")

#: name -> shape (every tensor of both kinds is floating point).
Shapes = dict[str, tuple[int, ...]]


def decoder_shapes(config: SingConfig, prefix: str = "decoder.") -> Shapes:
    """:class:`~sing.models.decoder.Decoder`: ``Conv1d(D, C, k)``, ``rewrite_layers`` x
    ``Conv1d(C, C, 1)`` (Sequential indices 0, 2, 4, ...; ReLUs between), then the windowed
    ``ConvTranspose1d(C, 1, window)`` (weight ``[C_in, C_out, K]``)."""
    c, d = config.channels, config.frame_dim
    out = {f"{prefix}layers.0.weight": (c, d, config.context_size), f"{prefix}layers.0.bias": (c,)}
    for i in range(config.rewrite_layers):
        out[f"{prefix}layers.{2 + 2 * i}.weight"] = (c, c, 1)
        out[f"{prefix}layers.{2 + 2 * i}.bias"] = (c,)
    last = 2 + 2 * config.rewrite_layers
    out[f"{prefix}layers.{last}.weight"] = (c, 1, config.window)
    out[f"{prefix}layers.{last}.bias"] = (1,)
    return out


def encoder_shapes(config: SingConfig, prefix: str = "encoder.") -> Shapes:
    """:class:`~sing.models.encoder.Encoder`: the windowed ``Conv1d(1, C, window)``,
    ``rewrite_layers`` x ``Conv1d(C, C, 1)``, ``Conv1d(C, D, 1)``."""
    c, d = config.channels, config.frame_dim
    out = {f"{prefix}layers.0.weight": (c, 1, config.window), f"{prefix}layers.0.bias": (c,)}
    for i in range(config.rewrite_layers):
        out[f"{prefix}layers.{2 + 2 * i}.weight"] = (c, c, 1)
        out[f"{prefix}layers.{2 + 2 * i}.bias"] = (c,)
    last = 2 + 2 * config.rewrite_layers
    out[f"{prefix}layers.{last}.weight"] = (d, c, 1)
    out[f"{prefix}layers.{last}.bias"] = (d,)
    return out


def generator_shapes(config: SingConfig, prefix: str = "generator.") -> Shapes:
    """:class:`~sing.models.sequence_generator.SequenceGenerator`: the lookup tables, the time
    embedding (one row per step), ``nn.LSTM`` (gates i, f, g, o stacked: ``4 * hidden``) and
    the linear layer to frames."""
    h, g = config.hidden_size, 4 * config.hidden_size
    out = {
        f"{prefix}velocity_embedding.weight": (config.num_velocities, config.velocity_dim),
        f"{prefix}instrument_embedding.weight": (config.num_instruments, config.instrument_dim),
        f"{prefix}pitch_embedding.weight": (config.num_pitches, config.pitch_dim),
    }
    if config.time_embedding:
        out[f"{prefix}time_embedding.weight"] = (config.num_frames, config.time_dim)
    for layer in range(config.num_layers):
        width = config.input_dim if layer == 0 else h
        out[f"{prefix}lstm.weight_ih_l{layer}"] = (g, width)
        out[f"{prefix}lstm.weight_hh_l{layer}"] = (g, h)
        out[f"{prefix}lstm.bias_ih_l{layer}"] = (g,)
        out[f"{prefix}lstm.bias_hh_l{layer}"] = (g,)
    out[f"{prefix}output.weight"] = (config.frame_dim, h)
    out[f"{prefix}output.bias"] = (config.frame_dim,)
    return out


def state_shapes(kind: str, config: SingConfig) -> Shapes:
    """Every tensor of a ``kind`` model of ``config``: name -> shape (all floating point).

    Raises:
        ValueError: an unknown kind.
    """
    if kind == "sing":
        return {**generator_shapes(config), **decoder_shapes(config)}
    if kind == "autoencoder":
        return {**encoder_shapes(config), **decoder_shapes(config)}
    raise ValueError(f"unknown model kind {kind!r} (valid: {', '.join(KINDS)})")
