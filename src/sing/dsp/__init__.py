"""DSP: differentiable log-power spectrograms and the spectral and waveform losses."""
