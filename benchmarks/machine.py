"""What the benchmarks print about the machine they ran on (shared by the scripts here)."""

from __future__ import annotations


def machine_load() -> str:
    """The 1-minute load average and CPU pressure (Linux), to state a run's conditions."""
    parts = []
    try:
        with open("/proc/loadavg") as f:
            parts.append(f"load average {f.read().split()[0]}")
        with open("/proc/pressure/cpu") as f:
            some = f.readline().split()[1]  # "avg10=.."
            parts.append(f"CPU pressure {some}")
    except (OSError, IndexError):
        pass
    return ", ".join(parts) or "load unknown"
