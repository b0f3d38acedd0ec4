"""Data: the NSynth layout, the vocabulary, the SoundFont builder, splits and the fast cache."""
