"""The frames <-> samples arithmetic: the paper's numbers and a sample-exact alignment."""

from __future__ import annotations

import torch

from sing.models import Autoencoder, SingConfig
from sing.models import frames as F_


def test_paper_lengths():
    paper = SingConfig.preset("paper")
    assert F_.pad(paper) == 2304
    assert F_.cut(paper) == 1792
    assert F_.margin(paper) == 512
    assert F_.padded_length(64000, paper) == 68608
    assert F_.num_frames(64000, paper) == 265 == paper.num_frames
    assert F_.decoded_length(265, paper) == 65024 == (265 - 9) * 256 - 512
    wav = torch.randn(2, 64000)
    assert F_.pad_note(wav, paper).shape == (2, 68608)
    target = F_.loss_target(wav, paper)
    assert target.shape == (2, 65024)
    # The reference target: the padded note with 1,792 samples cut from each end.
    assert torch.equal(target, F_.pad_note(wav, paper)[:, 1792:-1792])
    assert torch.equal(F_.strip(target, 64000, paper), wav)


def test_note_length_not_a_multiple_of_the_stride():
    config = SingConfig.preset("tiny", note_length=1000, window=512, stride=128, context_size=3)
    wav = torch.randn(1, 1000)
    frames = F_.num_frames(1000, config)
    assert F_.decoded_length(frames, config) == F_.loss_target(wav, config).shape[-1]
    assert torch.equal(F_.strip(F_.loss_target(wav, config), 1000, config), wav)


def _delta_autoencoder(config: SingConfig) -> Autoencoder:
    """Encoder frame j = padded[s*j + w/2]; decoder copies frame j+(k-1)/2 to one sample."""
    ae = Autoencoder(config)
    w, k = config.window, config.context_size
    with torch.no_grad():
        for p in ae.parameters():
            p.zero_()
        first = ae.encoder.layers[0]
        first.weight[0, 0, w // 2] = 1 / first.window[w // 2]
        for layer in list(ae.encoder.layers[2:]) + list(ae.decoder.layers[2:-1]):
            if isinstance(layer, torch.nn.Conv1d):
                layer.weight[0, 0, 0] = 1.0
        ae.decoder.layers[0].weight[0, 0, (k - 1) // 2] = 1.0
        last = ae.decoder.layers[-1]
        last.weight[0, 0, w // 2] = 1 / last.window[w // 2]
    return ae


def test_decoder_output_is_aligned_with_the_note():
    """A hand-wired autoencoder copies every 256th sample: the strip offset is exact."""
    config = SingConfig.preset(
        "tiny", channels=1, frame_dim=1, note_length=64000, window=1024, stride=256
    )
    ae = _delta_autoencoder(config)
    wav = torch.rand(1, 64000) + 0.1  # positive: the ReLUs pass it through
    with torch.no_grad():
        out = ae(wav)
    expected = torch.zeros_like(wav)
    expected[:, ::256] = wav[:, ::256]
    assert out.shape == wav.shape
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
