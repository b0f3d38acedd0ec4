"""The training losses of stages 1 and 3, and the stage-1 warm-up that avoids silence.

The paper trains every stage on one loss: the spectral loss (L1 between log(1 + |STFT|^2)) or
the waveform MSE. From a random start, the spectral loss has a trap at CPU scale: 84% of the
STFT bins of a note are silent, so the first steps teach the decoder to output silence, and at
silence the gradient of log(1 + |X|^2) is proportional to |X|, i.e. almost zero. The
autoencoder then sits on the "silence plateau" (the spectral loss of an all-zero output) for
thousands of steps (docs/results.md measures it).

Two named options of stage 1 (``ae``) get out of it; both are recorded in the model file's
recipe, and both are off in the paper's recipe (``--ae-warmup 0 --ae-wav-weight 0``):

- **warm-up** (``ae_warmup`` steps): the autoencoder first learns to reconstruct the waveform
  (MSE), which has a strong gradient everywhere, so the decoder starts from real harmonics;
- **waveform anchor** (``ae_wav_weight``): after the warm-up, stage 1 minimises
  ``spectral + w * MSE / mean(target^2)`` (a scale-free waveform term), so the switch to the
  spectral loss cannot undo the warm-up by falling back to silence. Stage 3 never gets it: the
  sequence generator cannot know the phase, which is why the paper uses the spectral loss.

Two named options of stage 3 (``sing``), off in the paper's recipe, for what the paper's
1024/256 log(1 + |X|^2) hardly hears (docs/results.md measures both):

- **short windows** (``short_window_weight``): adds ``w *`` the mean log-spectral L1 at
  (n_fft, hop) = :data:`SHORT_RESOLUTIONS` (256/64 and 128/32 samples). The paper's 1024-sample
  window averages four decoder frames, so the 62.5 Hz frame-rate pulsing of every harmonic
  (stride 256 at 16 kHz) costs it almost nothing; a 256- or 128-sample window sees each frame.
- **noise floor** (``floor_weight``, ``floor_eps``): adds ``w *`` the log-spectral L1 with
  ``eps = floor_eps`` (1e-3 by default) instead of 1: with eps 1 every bin whose power is below
  1 (about 60 dB under a loud note's peak) is flattened to log(1) = 0, so hiss there is free.

One named option of stages 2 and 3, off in the paper's recipe:

- **pitch smoothness** (``pitch_smoothness``): adds ``w * roughness`` of the pitch lookup
  table along the pitch axis (:func:`pitch_roughness`), so that the embedding of a pitch lies
  between its neighbours' and an (instrument, pitch) pair never heard borrows from the
  neighbouring pitches of the same instrument, as a sampler does.
"""

from __future__ import annotations

import torch

from sing import dsp


def relative_wav_mse(output: torch.Tensor, target: torch.Tensor,
                     target_power: torch.Tensor | None = None) -> torch.Tensor:
    """Waveform MSE divided by the target's mean power (scale-free).

    Args:
        output, target: Tensor[B, T].
        target_power: the mean power to divide by (default ``mean(target^2)``); a shard of a
            batch passes the whole batch's, so that the shards' weighted sum is the batch's
            loss (:mod:`sing.training.shards`).
    Returns:
        scalar Tensor: mean((output - target)^2) / (target_power + 1e-8).
    """
    if target_power is None:
        target_power = target.pow(2).mean()
    return dsp.wav_mse(output, target) / (target_power + 1e-8)


def pitch_roughness(table: torch.Tensor) -> torch.Tensor:
    """Scale-free roughness of a pitch embedding along the pitch axis.

    Args:
        table: Tensor[P, D], the embeddings of P consecutive MIDI pitches (P >= 3).
    Returns:
        scalar Tensor: ``sum ||e[p-1] - 2 e[p] + e[p+1]||^2 / sum ||e[p] - mean(e)||^2``,
        0 when the rows lie evenly on a line, 6 on average for independent random rows;
        shrinking the table does not lower it.
    """
    second = table[2:] - 2 * table[1:-1] + table[:-2]
    spread = (table - table.mean(0, keepdim=True)).pow(2).sum()
    return second.pow(2).sum() / (spread + 1e-12)


#: (n_fft, hop) of the short-window term of stage 3.
SHORT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((256, 64), (128, 32))
#: The noise-floor term's epsilon inside the log (the paper's is 1).
DEFAULT_FLOOR_EPS = 1e-3


def short_window_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean log-spectral L1 over :data:`SHORT_RESOLUTIONS` (eps 1).

    Args:
        output, target: Tensor[B, T], T >= 256.
    Returns:
        scalar Tensor.
    """
    return torch.stack([dsp.spectral_loss(output, target, n_fft=n, hop=h)
                        for n, h in SHORT_RESOLUTIONS]).mean()


def floor_loss(output: torch.Tensor, target: torch.Tensor,
               eps: float = DEFAULT_FLOOR_EPS) -> torch.Tensor:
    """Log-spectral L1 at the paper's 1024/256 with a small ``eps`` inside the log.

    Args:
        output, target: Tensor[B, T], T >= 1024.
    Returns:
        scalar Tensor: mean |log(eps + |X|^2) - log(eps + |Y|^2)|.
    """
    return dsp.spectral_loss(output, target, eps=eps)


def stage_loss(output: torch.Tensor, target: torch.Tensor, loss: str, stage: str,
               stage_step: int = 0, ae_warmup: int = 0, ae_wav_weight: float = 0.0,
               short_window_weight: float = 0.0, floor_weight: float = 0.0,
               floor_eps: float = DEFAULT_FLOOR_EPS,
               target_power: torch.Tensor | None = None) -> torch.Tensor:
    """The loss of one optimizer step of stage ``ae`` or ``sing``: a mean over the notes.

    Args:
        output, target: Tensor[B, T] (decoder output and ``frames.loss_target(wav)``).
        loss: ``spectral`` (the paper's) or ``wav`` (waveform MSE).
        stage: ``ae`` or ``sing``.
        stage_step: optimizer steps already taken in this stage (decides the warm-up).
        ae_warmup: stage ``ae`` uses the waveform MSE for its first ``ae_warmup`` steps.
        ae_wav_weight: weight of :func:`relative_wav_mse` added to stage ``ae``'s spectral loss
            after the warm-up.
        short_window_weight: weight of :func:`short_window_loss` added at stage ``sing``.
        floor_weight / floor_eps: weight and epsilon of :func:`floor_loss` at stage ``sing``.
        target_power: :func:`relative_wav_mse`'s divisor (a shard passes its batch's).
    Returns:
        scalar Tensor.
    """
    if loss == "wav" or (stage == "ae" and stage_step < ae_warmup):
        return dsp.wav_mse(output, target)
    value = dsp.spectral_loss(output, target)
    if stage == "ae" and ae_wav_weight > 0:
        value = value + ae_wav_weight * relative_wav_mse(output, target, target_power)
    if stage == "sing" and short_window_weight > 0:
        value = value + short_window_weight * short_window_loss(output, target)
    if stage == "sing" and floor_weight > 0:
        value = value + floor_weight * floor_loss(output, target, floor_eps)
    return value
