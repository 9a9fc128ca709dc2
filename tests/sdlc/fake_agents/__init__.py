"""Fake agent executables for the executor tests (tests/sdlc/test_run.py, test_gates.py), and
what the tests check processes with."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

FAKES = Path(__file__).resolve().parent


def install(bin_dir: Path, name: str = "claude") -> Path:
    """Copy the fake `name` into `bin_dir` as an executable run by this Python."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / name
    source = (FAKES / f"{name}.py").read_text(encoding="utf-8")
    target.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
    target.chmod(0o755)
    return target


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def running_in_group(group: int) -> list[int]:
    """Pids of the processes of `group` that still run (zombies excluded), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        state, _, pgrp = stat[stat.rfind(b")") + 2 :].split()[:3]
        if int(pgrp) == group and state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


def wait_until_gone(group: int, seconds: float = 10.0) -> list[int]:
    """Poll until no process of `group` runs or the deadline passes; what still runs."""
    deadline = time.monotonic() + seconds
    while (left := running_in_group(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
