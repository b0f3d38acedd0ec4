"""DSP: differentiable log-power spectrograms and the spectral and waveform losses.

The torch functions below are imported on first use (PEP 562): :mod:`sing.dsp.pitch` and
:mod:`sing.dsp.modulation` are NumPy and load without torch.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_RESOLUTIONS",
    "MultiResolutionSpectralLoss",
    "log_power_spectrogram",
    "reference_spectral_loss",
    "spectral_loss",
    "stft_log_power_spectrogram",
    "wav_l1",
    "wav_mse",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sing.dsp import spectral

        return getattr(spectral, name)
    raise AttributeError(f"module 'sing.dsp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
