"""The SFZ folder: a linter (sfzlint) passes it; regions, loops and WAVs are the bank's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def _sfzlint(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("sfzlint", path=str(Path(sys.executable).parent)) or \
        shutil.which("sfzlint")
    if exe is None:
        pytest.skip("sfzlint is not installed (pip install sfzlint)")
    return subprocess.run([exe, "--no-pickle", str(path)], capture_output=True, text=True,
                          timeout=120)


def test_sfzlint_passes_every_file(small_banks):
    folder = small_banks["sfz"]
    files = sorted(folder.glob("*.sfz"))
    assert [f.name for f in files] == ["000_Acoustic_Grand_Piano.sfz", "040_Violin.sfz"]
    for f in files:
        run = _sfzlint(f)
        assert run.returncode == 0 and run.stdout.strip() == "" and run.stderr.strip() == "", \
            run.stdout + run.stderr


def test_the_linter_is_not_blind(small_banks, tmp_path):
    """sfzlint does flag a missing sample and an unknown opcode (the test above can fail)."""
    bad = tmp_path / "bad"
    shutil.copytree(small_banks["sfz"], bad)
    text = (bad / "040_Violin.sfz").read_text()
    (bad / "040_Violin.sfz").write_text(text + "<region> sample=samples/none.wav lovel=0 "
                                        "unknown_opcode=3\n")
    out = _sfzlint(bad / "040_Violin.sfz").stdout
    assert "file not found" in out and "unknown opcode" in out and "lovel" in out


def test_regions_and_samples_are_the_banks(small_banks):
    import soundfile as sf

    folder = small_banks["sfz"]
    for preset, samples in small_banks["presets"]:
        text = (folder / f"{preset.program:03d}_{preset.name.replace(' ', '_')}.sfz").read_text()
        assert "loop_mode=loop_sustain" in text and "amp_veltrack=0" in text
        assert "sing experiment gm-model" in text and "MIT" in text
        regions = [dict(kv.split("=", 1) for kv in line.split()[1:])
                   for line in text.splitlines() if line.startswith("<region>")]
        assert len(regions) == len(samples)
        for region, s in zip(regions, samples, strict=True):
            assert region["sample"] == f"samples/{s.name}.wav"
            assert (int(region["lokey"]), int(region["hikey"])) == (s.key.lo, s.key.hi)
            assert int(region["pitch_keycenter"]) == s.key.root
            assert (int(region["lovel"]), int(region["hivel"])) == (s.layer.lo, s.layer.hi)
            # SFZ's loop_end is the loop's last frame
            assert (int(region["loop_start"]), int(region["loop_end"]) + 1) == s.loop
            assert float(region["ampeg_release"]) == pytest.approx(s.release, abs=1e-3)
            pcm, rate = sf.read(folder / region["sample"], dtype="int16")
            assert rate == s.rate and np.array_equal(pcm, s.pcm)
    assert not [p for p in folder.parent.iterdir() if re.match(r"\.(tmp|old)-", p.name)]
