"""The whole machine's busy CPU time, for the benchmarks: every process and the kernel (a
sandbox's commands are nobody's waited-for children, so no process's own figure holds them)."""

from __future__ import annotations

import os
from pathlib import Path


def busy_s() -> float:
    """CPU seconds the machine has spent busy since boot (all but idle and iowait, /proc/stat)."""
    first = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0]
    fields = [int(f) for f in first.split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
