"""Which notes a sample-based instrument of a SING model is made of, and their samples.

:func:`plan_bank` turns a model and the options into a :class:`BankPlan`:

* **presets**: one per instrument or blend. A General MIDI model's instruments sit at bank 0,
  program = their GM program, named after it (so a GM MIDI file plays them as they are); other
  models' instruments, and blends, take the free programs of bank 0 in order (then bank 1).
* **key zones**: the chosen pitches (default: the model's range) split into groups of at most
  ``every`` keys, as even as possible; each group is served by one sample at its middle key
  (the root), the lowest zone reaching down to key 0 and the highest up to 127.
* **velocity layers**: one per chosen model velocity (default: all); MIDI velocities 1-127 split
  halfway between them, the way ``sing render`` picks the nearest velocity (a tie goes up).

:func:`generate_bank` generates each preset's notes with :func:`sing.generation.generate` (the
project's one generation path) and makes each a :class:`Sample`: the note played exactly as
``sing render`` plays one held until its sustain loop's end
(:func:`sing.midi.envelope.fit_note`), 16-bit, with the loop points of the seamless loop that
``sing render`` repeats to sustain a note past its hold
(:func:`sing.midi.envelope.sustain_loop`), and a release time for the sampler's volume
envelope (:func:`release_time`). A sampler then plays a held key as ``sing render`` would: the
attack, the loop repeated while the key is down, then (key up) the rest of the sample, which
is the note's own release.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from sing.data.vocabulary import Vocabulary
from sing.data.wav import to_pcm16
from sing.errors import SingError
from sing.models.blend import InstrumentSpec, Weights, blend_label, resolve_instrument

#: Output formats: SoundFont 2, SoundFont 3 (Ogg Vorbis samples), SFZ (a folder).
FORMATS = ("sf2", "sf3", "sfz")
#: Default ``every``: one sample per octave serves the keys within 6 semitones of it, which
#: keeps the shipped model's whole bank (128 programs, 73 keys, 5 velocities) under 150 MB.
DEFAULT_EVERY = 12
#: Bounds of the volume-envelope release, seconds.
MIN_RELEASE, MAX_RELEASE = 0.05, 8.0
#: SoundFont 2's release time is the time to fall by 100 dB.
ENVELOPE_RANGE_DB = 100.0

#: ``progress(notes just generated)``.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Preset:
    """An instrument (or blend) of the bank: its name, MIDI bank and program, and weights."""

    name: str
    bank: int
    program: int
    weights: Weights
    label: str  # file-name-safe: the instrument's name or the blend's ``a_70+b_30``


@dataclass(frozen=True)
class KeyZone:
    """Keys ``lo``..``hi`` (MIDI, inclusive) played by the sample of pitch ``root``."""

    root: int
    lo: int
    hi: int


@dataclass(frozen=True)
class VelocityLayer:
    """MIDI velocities ``lo``..``hi`` (inclusive) played by the model's velocity ``velocity``
    (``index`` into ``vocabulary.velocities``)."""

    index: int
    velocity: int
    lo: int
    hi: int


@dataclass
class BankPlan:
    """Everything a bank is made of, but the audio (:func:`plan_bank`)."""

    name: str
    presets: list[Preset]
    keys: list[KeyZone]
    layers: list[VelocityLayer]
    sample_rate: int
    hold: int  # samples the model's training notes were held
    note_length: int
    info: dict[str, str] = field(default_factory=dict)  # model, training command, licence

    @property
    def num_samples(self) -> int:
        """Samples (notes to generate) in the whole bank."""
        return len(self.presets) * len(self.keys) * len(self.layers)


@dataclass
class Sample:
    """One generated note ready for a sampler.

    ``pcm``: int16[N] at ``rate``; ``loop``: (start, end) in samples, end excluded, or None
    (no loop: the note plays once); ``release``: the volume envelope's release, seconds.
    """

    name: str
    pcm: np.ndarray
    rate: int
    key: KeyZone
    layer: VelocityLayer
    loop: tuple[int, int] | None
    release: float


# ---------------------------------------------------------------------------- planning


def parse_pitches(text: str, vocabulary: Vocabulary) -> tuple[int, int]:
    """``"LO-HI"`` (or one pitch ``"P"``) -> (lo, hi), within the model's pitch range."""
    m = re.fullmatch(r"\s*(\d{1,3})\s*(?:-\s*(\d{1,3})\s*)?", text or "")
    if m is None:
        raise SingError(f"bad pitch range '{text}': write LO-HI in MIDI numbers, e.g. 36-84")
    lo = int(m[1])
    hi = int(m[2]) if m[2] is not None else lo
    return check_pitches((lo, hi), vocabulary)


def check_pitches(pitches: tuple[int, int], vocabulary: Vocabulary) -> tuple[int, int]:
    """(lo, hi) if a non-empty range inside the model's pitches, else :class:`SingError`."""
    lo, hi = (int(p) for p in pitches)
    if lo > hi:
        raise SingError(f"empty pitch range {lo}-{hi}: the first pitch is above the last")
    if lo < vocabulary.pitch_min or hi > vocabulary.pitch_max:
        raise SingError(f"pitch range {lo}-{hi} is outside this model's range "
                        f"{vocabulary.pitch_min}-{vocabulary.pitch_max}")
    return lo, hi


def key_zones(lo: int, hi: int, every: int) -> list[KeyZone]:
    """Keys ``lo..hi`` in groups of at most ``every`` keys (as even as possible), each played
    by its middle key; the first zone reaches down to key 0, the last up to key 127."""
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise SingError(f"every must be a whole number of semitones >= 1, not {every!r}")
    if lo > hi:
        raise SingError(f"empty pitch range {lo}-{hi}: the first pitch is above the last")
    keys = hi - lo + 1
    groups = math.ceil(keys / every)
    zones = []
    start = lo
    for g in range(groups):
        size = keys // groups + (1 if g < keys % groups else 0)
        end = start + size - 1
        zones.append(KeyZone(root=(start + end) // 2, lo=start, hi=end))
        start = end + 1
    first, last = zones[0], zones[-1]
    zones[0] = KeyZone(first.root, 0, first.hi)
    zones[-1] = KeyZone(last.root, zones[-1].lo, 127)
    return zones


def velocity_layers(vocabulary: Vocabulary,
                    velocities: Sequence[int] | None = None) -> list[VelocityLayer]:
    """One layer per chosen model velocity (default all), split halfway between them."""
    chosen = sorted(set(vocabulary.velocities if velocities is None else
                        (int(v) for v in velocities)))
    if not chosen:
        raise SingError("no velocities chosen")
    indices = [vocabulary.velocity_index(v) for v in chosen]  # unknown ones raise
    layers = []
    lo = 1  # velocity 0 is a note-off
    for i, (index, v) in enumerate(zip(indices, chosen, strict=True)):
        hi = 127 if i == len(chosen) - 1 else math.ceil((v + chosen[i + 1]) / 2) - 1
        layers.append(VelocityLayer(index=index, velocity=v, lo=lo, hi=hi))
        lo = hi + 1
    return layers


def parse_velocities(text: str | None, vocabulary: Vocabulary) -> list[int] | None:
    """``"25,100"`` -> [25, 100]; None or ``"all"`` -> None (all the model's velocities)."""
    if text is None or text.strip().lower() == "all":
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items or not all(t.isdigit() for t in items):
        raise SingError(f"bad velocities '{text}': write a comma-separated list of this "
                        f"model's velocities ({', '.join(map(str, vocabulary.velocities))}) "
                        "or 'all'")
    return [int(t) for t in items]


def _gm_programs(vocabulary: Vocabulary) -> dict[int, int] | None:
    """Model index -> GM program when every instrument is named after one, else None."""
    from sing.data.gm import instrument_str
    from sing.midi.programs import is_gm_vocabulary

    if not is_gm_vocabulary(vocabulary):
        return None
    names = {instrument_str(p): p for p in range(128)}
    return {i: names[name] for i, name in enumerate(vocabulary.instruments)}


def _instrument_list(instruments: str | Sequence[InstrumentSpec] | None) -> list | None:
    if instruments is None:
        return None
    if isinstance(instruments, str):
        if instruments.strip().lower() == "all":
            return None
        items = [t.strip() for t in instruments.split(",") if t.strip()]
        if not items:
            raise SingError("--instruments is empty: give names or ids, or 'all'")
        return items
    items = list(instruments)
    if not items:
        raise SingError("no instruments given")
    return items


def plan_presets(
    vocabulary: Vocabulary,
    instruments: str | Sequence[InstrumentSpec] | None = None,
    blend: InstrumentSpec | None = None,
    blend_name: str | None = None,
) -> list[Preset]:
    """The bank's presets: ``instruments`` (names or ids, a comma-separated string, or None /
    ``"all"`` = every instrument of the model unless only ``blend`` is given) and ``blend``
    (an instrument or blend ``"a:0.7,b:0.3"``, named ``blend_name``)."""
    from sing.data.gm import GM_PROGRAMS

    gm = _gm_programs(vocabulary)
    chosen = _instrument_list(instruments)
    if chosen is None and (blend is None or instruments is not None):
        chosen = list(range(vocabulary.num_instruments))
        plain = [((i, 1.0),) for i in chosen]
    else:
        plain = [resolve_instrument(vocabulary, spec) for spec in (chosen or [])]
    taken: set[tuple[int, int]] = set()
    presets: list[Preset] = []
    later: list[tuple[Weights, str | None]] = []
    for weights in plain:
        if len(weights) > 1:
            later.append((weights, None))
            continue
        index = weights[0][0]
        if gm is not None and (0, gm[index]) not in taken:
            program = gm[index]
            presets.append(Preset(GM_PROGRAMS[program].name, 0, program, weights,
                                  vocabulary.instruments[index]))
            taken.add((0, program))
        else:
            later.append((weights, None))
    if blend is not None:
        later.append((resolve_instrument(vocabulary, blend), blend_name))
    slots = ((b, p) for b in range(129) for p in range(128) if (b, p) not in taken)
    for weights, name in later:
        bank, program = next(slots)
        label = blend_label(vocabulary, weights)
        presets.append(Preset(name or label, bank, program, weights, label))
    presets.sort(key=lambda p: (p.bank, p.program))
    return presets


def describe_model(model: torch.nn.Module) -> dict[str, str]:
    """What the bank's INFO says of the model: ``model`` (file name, kind, parameters),
    ``command`` (how it was trained) and ``licence`` (of its training data)."""
    info = getattr(model, "info", None)
    recipe = dict(getattr(info, "recipe", None) or {})
    path = getattr(info, "path", None)
    name = path.name if path is not None else "an unsaved model"
    v = model.vocabulary
    described = (f"{name} (SING, {v.num_instruments} instruments, pitches "
                 f"{v.pitch_min}-{v.pitch_max}, {len(v.velocities)} velocities, "
                 f"{v.sample_rate} Hz)")
    gm_model = recipe.get("gm_model")
    if isinstance(gm_model, dict) and isinstance(gm_model.get("command"), str):
        command = gm_model["command"]
    elif isinstance(recipe.get("command"), str):
        command = recipe["command"]
    elif recipe:
        keys = ("data", "preset", "loss", "epochs_ae", "epochs_seq", "epochs_sing", "lr")
        command = "sing train " + " ".join(f"--{k.replace('_', '-')} {recipe[k]}"
                                           for k in keys if recipe.get(k) is not None)
    else:
        command = "unknown (the model file records no recipe)"
    licence = recipe.get("licence")
    if not isinstance(licence, str) or not licence.strip():
        licence = "unknown (the model file records no licence for its training data)"
    return {"model": described, "command": command, "licence": licence}


def plan_bank(
    model: torch.nn.Module,
    *,
    instruments: str | Sequence[InstrumentSpec] | None = None,
    blend: InstrumentSpec | None = None,
    blend_name: str | None = None,
    pitches: tuple[int, int] | str | None = None,
    every: int = DEFAULT_EVERY,
    velocities: Sequence[int] | str | None = None,
    name: str | None = None,
) -> BankPlan:
    """The presets, key zones and velocity layers of a bank of ``model`` (see the module).

    Raises :class:`SingError` on an unknown instrument or velocity, an empty, reversed or
    out-of-range pitch range, or ``every`` < 1.
    """
    from sing.midi.render import model_hold

    vocabulary = getattr(model, "vocabulary", None)
    if vocabulary is None:
        raise SingError("the model has no vocabulary: load it with sing.api.load_model")
    if isinstance(pitches, str):
        lo, hi = parse_pitches(pitches, vocabulary)
    elif pitches is None:
        lo, hi = vocabulary.pitch_min, vocabulary.pitch_max
    else:
        lo, hi = check_pitches(pitches, vocabulary)
    if isinstance(velocities, str):
        velocities = parse_velocities(velocities, vocabulary)
    keys = key_zones(lo, hi, every)
    layers = velocity_layers(vocabulary, velocities)
    presets = plan_presets(vocabulary, instruments, blend, blend_name)
    info = describe_model(model)
    if name is None:
        name = (presets[0].name if len(presets) == 1 else
                f"SING {info['model'].split(' ')[0]}")
    return BankPlan(name=name, presets=presets, keys=keys, layers=layers,
                    sample_rate=vocabulary.sample_rate, hold=model_hold(model),
                    note_length=vocabulary.note_length, info=info)


# ---------------------------------------------------------------------------- samples


def _rms_db(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    return 20 * math.log10(max(rms, 1e-9))


def release_time(wave: np.ndarray, hold: int, rate: int) -> float:
    """The volume envelope's release (seconds) for a note generated with its key held
    ``hold`` samples: the time its own release takes to fall by ``ENVELOPE_RANGE_DB`` at the
    rate (dB/s) it falls between 10 ms after the hold and 10 ms before its end, within
    [``MIN_RELEASE``, ``MAX_RELEASE``].

    A key let go before the loop's end fades at the note's own rate (the training notes'
    synthesiser released them that way); after it, the sample's own release plays.
    """
    window = max(1, int(0.02 * rate))
    a, b = hold + window // 2, len(wave) - window - window // 2
    if b - a < window:
        return MIN_RELEASE
    drop = _rms_db(wave[a : a + window]) - _rms_db(wave[b : b + window])
    seconds = (b - a) / rate
    if drop <= 0:
        return MAX_RELEASE
    return float(min(max(ENVELOPE_RANGE_DB * seconds / drop, MIN_RELEASE), MAX_RELEASE))


def make_sample(wave: np.ndarray, key: KeyZone, layer: VelocityLayer, hold: int, rate: int,
                name: str) -> Sample:
    """A generated note as a :class:`Sample`: played as ``sing render`` plays a note held to
    its sustain loop's end (:func:`sing.midi.envelope.fit_note`), so its ``[start, end)``
    loops seamlessly and its rest is the note's own release."""
    from sing.midi.envelope import fit_note, sustain_loop

    wave = np.asarray(wave, dtype=np.float32)
    loop = sustain_loop(wave, hold, rate, key.root)
    played_until = loop[1] if loop is not None else min(hold, len(wave))
    played = fit_note(wave, played_until, hold, rate, pitch=key.root)
    return Sample(name=name, pcm=to_pcm16(played), rate=rate, key=key, layer=layer,
                  loop=loop, release=release_time(wave, hold, rate))


def sample_name(preset: Preset, key: KeyZone, layer: VelocityLayer) -> str:
    """``B-PPP-KKK-VVV``: bank, program, root key and velocity (20 characters at most)."""
    return f"{preset.bank}-{preset.program:03d}-{key.root:03d}-{layer.velocity:03d}"


def generate_bank(
    model: torch.nn.Module,
    plan: BankPlan,
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    backend: str = "auto",
    progress: Progress | None = None,
) -> Iterator[tuple[Preset, list[Sample]]]:
    """Each preset with its samples (one per key zone and velocity layer, key-major),
    generated preset by preset by :func:`sing.generation.generate` (memory: one preset's
    notes at a time). ``progress(n)`` is called after each batch of ``n`` notes."""
    from sing.generation import generate, note_from_weights

    for preset in plan.presets:
        cells = [(key, layer) for key in plan.keys for layer in plan.layers]
        notes = [note_from_weights(preset.weights, key.root, layer.index)
                 for key, layer in cells]
        waves = generate(model, notes, batch_size=batch_size, device=device, dtype=dtype,
                         backend=backend, progress=progress).numpy()
        samples = [make_sample(wave, key, layer, plan.hold, plan.sample_rate,
                               sample_name(preset, key, layer))
                   for wave, (key, layer) in zip(waves, cells, strict=True)]
        yield preset, samples
