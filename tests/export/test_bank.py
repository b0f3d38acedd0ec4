"""What a bank is made of: presets, key zones, velocity layers, loops and releases."""

from __future__ import annotations

import numpy as np
import pytest

from sing.errors import SingError
from sing.export.bank import (
    ENVELOPE_RANGE_DB,
    key_zones,
    make_sample,
    plan_bank,
    release_time,
    velocity_layers,
)
from sing.midi.envelope import fit_note
from sing.midi.render import _nearest_velocity


@pytest.mark.parametrize("lo,hi,every", [(24, 96, 1), (24, 96, 3), (24, 96, 12), (57, 65, 3),
                                         (60, 60, 12), (24, 96, 100)])
def test_key_zones_cover_every_key_once(lo, hi, every):
    zones = key_zones(lo, hi, every)
    assert len(zones) == -(-(hi - lo + 1) // every)  # ceil: as few samples as the bound allows
    keys = [k for z in zones for k in range(z.lo, z.hi + 1)]
    assert keys == list(range(0, 128))  # outer zones reach keys 0 and 127
    inner = [(max(z.lo, lo), min(z.hi, hi)) for z in zones]
    sizes = [b - a + 1 for a, b in inner]
    assert max(sizes) <= every and max(sizes) - min(sizes) <= 1
    for z, (a, b) in zip(zones, inner, strict=True):
        assert z.root == (a + b) // 2  # the middle key of the generated pitches


def test_velocity_layers_pick_what_sing_render_picks(model):
    vocabulary = model.vocabulary
    layers = velocity_layers(vocabulary)
    assert [x.velocity for x in layers] == list(vocabulary.velocities)
    assert [(x.lo, x.hi) for x in layers] == [(1, 37), (38, 62), (63, 87), (88, 113), (114, 127)]
    for v in range(1, 128):
        (layer,) = [x for x in layers if x.lo <= v <= x.hi]
        assert layer.index == _nearest_velocity(vocabulary.velocities, v)
    two = velocity_layers(vocabulary, [100, 50])
    assert [(x.velocity, x.lo, x.hi) for x in two] == [(50, 1, 74), (100, 75, 127)]


def test_gm_presets_sit_at_their_programs(model):
    plan = plan_bank(model, instruments="40,0", pitches="60-60", blend="0:0.7,40:0.3",
                     blend_name="Warm piano")
    got = [(p.bank, p.program, p.name) for p in plan.presets]
    assert got == [(0, 0, "Acoustic Grand Piano"), (0, 1, "Warm piano"), (0, 40, "Violin")]
    blend = plan.presets[1]
    assert dict(blend.weights) == pytest.approx({0: 0.7, 40: 0.3})
    everything = plan_bank(model, pitches="60-60")
    assert [(p.bank, p.program) for p in everything.presets] == [(0, p) for p in range(128)]
    assert plan.info["command"].startswith("sing experiment gm-model")
    assert "MIT" in plan.info["licence"]
    only_blend = plan_bank(model, blend="0:0.5,40:0.5", pitches="60-60")
    assert [(p.bank, p.program) for p in only_blend.presets] == [(0, 0)]


def test_nsynth_models_get_their_presets_in_order(tmp_path):
    import torch

    import sing.api
    from sing.data.vocabulary import Vocabulary
    from sing.models import SING, SingConfig
    from sing.models.io import save_model

    vocabulary = Vocabulary(instruments=("guitar_acoustic_009", "brass_acoustic_001"),
                            instrument_ids=(9, 1), families=("guitar", "brass"),
                            pitch_min=40, pitch_max=80, note_length=16000)
    torch.manual_seed(0)
    path = save_model(tmp_path / "nsynth.safetensors",
                      SING(SingConfig.for_vocabulary(vocabulary, "tiny"), vocabulary))
    plan = plan_bank(sing.api.load_model(path))
    assert [(p.bank, p.program, p.name) for p in plan.presets] == [
        (0, 0, "guitar_acoustic_009"), (0, 1, "brass_acoustic_001")]
    assert "no licence" in plan.info["licence"]


@pytest.mark.parametrize("kwargs,message", [
    ({"instruments": "nope"}, "unknown instrument 'nope'"),
    ({"pitches": "72-60"}, "empty pitch range 72-60"),
    ({"pitches": ""}, "bad pitch range"),
    ({"pitches": "10-60"}, "outside this model's range 24-96"),
    ({"every": 0}, "every must be a whole number"),
    ({"velocities": "33"}, "velocity 33 is not one of"),
    ({"blend": "0:0,40:0"}, "weights sum to 0"),
])
def test_bad_options_are_one_line(model, kwargs, message):
    with pytest.raises(SingError, match=message):
        plan_bank(model, **kwargs)


def test_the_loop_plays_what_sing_render_plays(model):
    """A sampler looping [start, end) of the sample until note-off then playing on gives
    exactly ``sing render``'s note held that long (`fit_note`), release included."""
    from sing.generation import generate, note_from_weights

    plan = plan_bank(model, instruments="0", pitches="60-60", velocities="100")
    key, layer = plan.keys[0], plan.layers[0]
    wave = generate(model, [note_from_weights(((0, 1.0),), 60, layer.index)]).numpy()[0]
    sample = make_sample(wave, key, layer, plan.hold, plan.sample_rate, "s")
    start, end = sample.loop
    assert end == plan.hold and 0 < start < end - 1000
    pcm = sample.pcm.astype(np.float64) / 32767
    held = 3 * plan.sample_rate  # a key held 3 s: the loop repeats 9 times
    looped = np.concatenate([pcm[:start], np.tile(pcm[start:end], 12)])[:held]
    reference = fit_note(wave, held, plan.hold, plan.sample_rate, pitch=60)
    n_in = int(0.002 * plan.sample_rate)  # fit_note's 2 ms fade-in is in both
    assert np.abs(looped[n_in:] - reference[n_in:held]).max() < 2 / 32767
    # the wrap end -> start is as smooth as the note itself: no click
    steps = np.abs(np.diff(pcm[:end]))
    assert abs(pcm[end - 1] - pcm[start]) <= 1.5 * steps.max()
    # after the loop: the note's own release, as fit_note plays it at that note-off
    tail = fit_note(wave, end, plan.hold, plan.sample_rate, pitch=60)
    assert np.abs(pcm - tail).max() < 1 / 32767 and len(pcm) == len(tail)


def test_release_time_follows_the_notes_own_decay():
    rate, hold, n = 16000, 12000, 16000
    t = np.arange(n) / rate
    for db_per_s in (50.0, 200.0, 400.0):
        env = np.where(t < hold / rate, 1.0, 10 ** (-db_per_s * (t - hold / rate) / 20))
        wave = np.sin(2 * np.pi * 440 * t) * env
        expected = ENVELOPE_RANGE_DB / db_per_s
        assert release_time(wave, hold, rate) == pytest.approx(expected, rel=0.03)
    flat = np.sin(2 * np.pi * 440 * t)
    assert release_time(flat, hold, rate) == 8.0  # no decay: the longest release
