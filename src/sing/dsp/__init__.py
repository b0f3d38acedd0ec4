"""DSP: differentiable log-power spectrograms and the spectral and waveform losses."""

from sing.dsp.spectral import (
    DEFAULT_RESOLUTIONS,
    MultiResolutionSpectralLoss,
    log_power_spectrogram,
    spectral_loss,
    wav_l1,
    wav_mse,
)

__all__ = [
    "DEFAULT_RESOLUTIONS",
    "MultiResolutionSpectralLoss",
    "log_power_spectrogram",
    "spectral_loss",
    "wav_l1",
    "wav_mse",
]
