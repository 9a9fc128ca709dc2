"""Who is acting: `--by`, else SDLC_ACTOR, else git user.name, else the OS user (§7)."""

from __future__ import annotations

import getpass
import os
import subprocess
from functools import cache

GIT_TIMEOUT_SECONDS = 2.0


def is_agent() -> bool:
    """True inside processes started by `sdlc run` or the rdev API (SDLC_AGENT=1)."""
    return os.environ.get("SDLC_AGENT", "") not in ("", "0", "false")


@cache
def _git_user() -> str | None:
    try:
        done = subprocess.run(
            ["git", "config", "user.name"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    name = done.stdout.strip()
    return name or None


def resolve_actor(by: str | None = None) -> str:
    if by:
        return by
    env = os.environ.get("SDLC_ACTOR")
    if env:
        return env
    git = _git_user()
    if git:
        return git
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
