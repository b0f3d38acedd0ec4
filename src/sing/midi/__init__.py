"""MIDI files played with a SING model: ``sing render SONG.mid --out song.wav``.

* :mod:`sing.midi.reader`: a Standard MIDI File -> a :class:`~sing.midi.reader.Score` of note
  events in seconds (read with mido; tempo map, program changes, sustain pedal, drums counted).
* :mod:`sing.midi.programs`: which of the model's instruments plays each GM program.
* :mod:`sing.midi.envelope`: a generated note cut or sustained to the MIDI note's length, then
  released (cross-fades, no click).
* :mod:`sing.midi.render`: the whole render: distinct notes generated once in batches on the
  fast path, shaped, mixed, made peak-safe, resampled, written as a 16-bit WAV.
* :mod:`sing.midi.pieces`: the bundled pieces, typed in and written as MIDI files by our code.
"""
