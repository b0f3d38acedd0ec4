"""sing.utils.allocator: the process restarts once with glibc keeping freed memory, and a
freed large tensor's pages are then reused, not faulted in again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sing.utils import allocator

# Restarts itself through keep_freed_memory, then allocates and frees 64 MiB tensors, touching
# every page, and prints the minor page faults the last ten cost (the first one maps the
# memory in either case), how many times it started, and its environment.  With the memory
# kept, at most one of the ten is mapped afresh: in about a third of runs a small allocation
# that lives on lands just above the first freed block, and the next block is placed above it
# once; after that every tensor reuses freed pages (30 tensors: still at most one).
SCRIPT = r"""
import json, os, resource, sys
starts = int(os.environ.get("STARTS", "0")) + 1
os.environ["STARTS"] = str(starts)
from sing.utils.allocator import keep_freed_memory
applied = keep_freed_memory()
import torch
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
x = torch.ones(16 << 20); del x
before = faults()
for _ in range(10):
    x = torch.ones(16 << 20); del x
print(json.dumps({"applied": applied, "faults": faults() - before, "starts": starts,
                  "argv": sys.argv[1:], "pid": os.getpid(),
                  "tunables": os.environ.get("GLIBC_TUNABLES")}))
"""

TENSOR_PAGES = (64 << 20) // 4096  # pages one tensor touches
PAGES = 10 * TENSOR_PAGES  # pages the ten tensors touch
glibc = pytest.mark.skipif(allocator.glibc_version() is None, reason="glibc's tunables only")


def _run(**env: str) -> dict:
    full = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    for name in ("THP_MEM_ALLOC_ENABLE", "GLIBC_TUNABLES", "STARTS"):  # torch's huge pages off
        if name not in env:
            full.pop(name, None)
    out = subprocess.run([sys.executable, "-c", SCRIPT, "a b", "--x"], env=full, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def _thp_always() -> bool:
    path = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return path.exists() and "[always]" in path.read_text()


@glibc
def test_restarted_process_reuses_freed_tensors_without_page_faults():
    kept = _run()
    assert kept["applied"] is True
    assert kept["starts"] == 2  # restarted exactly once, with its arguments
    assert kept["argv"] == ["a b", "--x"]
    assert kept["tunables"] is None  # not passed on to the programs it runs
    # 0, or one tensor's pages: the heap's pages are still mapped (glibc's default: all ten)
    assert kept["faults"] <= TENSOR_PAGES + PAGES // 50, kept
    default = _run(**{allocator.ENV: "0"})
    assert default["applied"] is False and default["starts"] == 1
    if not _thp_always():  # 4 KiB pages: glibc's default maps each tensor afresh
        assert default["faults"] > PAGES // 2, default


@glibc
def test_the_users_own_tunables_win():
    mine = "glibc.malloc.arena_max=2"
    run = _run(GLIBC_TUNABLES=mine)
    assert run["applied"] is False and run["starts"] == 1 and run["tunables"] == mine


def test_tuned_environment_decides_when_to_restart():
    if allocator.glibc_version() is None:
        assert allocator.tuned_environment({}) is None
        return
    env = allocator.tuned_environment({"PATH": "/bin"})
    assert env["GLIBC_TUNABLES"] == allocator.TUNABLES and env["PATH"] == "/bin"
    for fields in ({allocator.ENV: "0"}, {"GLIBC_TUNABLES": "x"}, {allocator._MARK: "1"}):
        assert allocator.tuned_environment(fields) is None
    assert allocator.tuned_environment({allocator.ENV: "1"}) is not None


def test_glibc_version_reads_the_running_c_library():
    version = allocator.glibc_version()
    text = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    if text and text.startswith("glibc "):
        major, minor = (int(v) for v in version.split(".")[:2])
        assert (major, minor) >= (2, 26)  # the malloc tunables exist since 2.26
    else:
        assert version is None


def test_the_console_script_and_python_m_sing_enter_through_console():
    import tomllib

    root = Path(__file__).resolve().parents[2]
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["sing"] == "sing.cli:console"
    assert "console()" in (root / "src/sing/__main__.py").read_text()


@glibc
def test_sing_command_line_runs_restarted(tmp_path):
    """A real `python -m sing` restarts and still gives its usual answer and exit code."""
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    ok = subprocess.run([sys.executable, "-m", "sing", "--version"], env=env,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("sing ")
    missing = str(tmp_path / "missing.safetensors")
    for args in (["info", missing],  # started as it is
                 ["generate", "--model", missing, "--instrument", "guitar", "--pitch", "60",
                  "--out", str(tmp_path)]):
        bad = subprocess.run([sys.executable, "-m", "sing", *args], env=env,
                             capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1, (args, bad.stderr)
        assert "missing" in bad.stderr


def test_only_commands_that_run_networks_restart():
    from sing.cli import COMMANDS, TUNED_COMMANDS, restarts_tuned

    assert TUNED_COMMANDS <= set(COMMANDS)
    assert restarts_tuned(["generate", "--model", "m.safetensors", "piano:60:100"])
    assert restarts_tuned(["-q", "render", "piece.mid"])
    assert restarts_tuned(["train", "--data", "d", "--out", "r"])
    for light in (["info", "m.safetensors"], ["dataset", "check", "d"], ["plot", "run"],
                  ["--help"], ["--version"], ["generate", "--help"], ["render", "-h"], []):
        assert not restarts_tuned(light), light
