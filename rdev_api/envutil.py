"""Configuration from the environment, one place for every knob and its default
(spec/rdev-api.md "Config"). A malformed value is an error naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Final

# Tuning knobs and their defaults; tests shorten them through the environment.
DEFAULTS: Final[dict[str, str]] = {
    "RDEV_SSE_HEARTBEAT": "15s",
    "RDEV_LEASE": "60s",
    "RDEV_REAPER_INTERVAL": "5s",
    "RDEV_WEBHOOK_BACKOFF_BASE": "2s",
    "RDEV_WEBHOOK_BACKOFF_CAP": "10m",
    "RDEV_WEBHOOK_MAX_ATTEMPTS": "10",
    "RDEV_WEBHOOK_ALLOW_PRIVATE": "",  # unset: on when the server binds loopback only
    "RDEV_EMBEDDED_WORKERS": "2",
    "RDEV_HTTP_THREADS": "8",  # threads for the API's blocking routes
    "RDEV_COMMAND_OUTPUT_CAP": str(10 * 1024 * 1024),
    "RDEV_RATE_LIMIT": "50",
    "RDEV_PUBLIC_URL": "http://127.0.0.1:8484",  # the base of project callback URLs
    "RDEV_LOG_FORMAT": "json",
    "RDEV_LOG_LEVEL": "info",
    "RDEV_LOG_LEVELS": "",
    "RDEV_SANDBOX": "auto",  # auto | bwrap | off: commands in bubblewrap (auto: when it works)
}
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})
_DURATION = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|m|h)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class EnvError(ValueError):
    """An environment variable holds a value of the wrong shape."""


def get_env(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The variable's value, else `default`, else its declared default, else ""."""
    env = os.environ if environ is None else environ
    value = env.get(name)
    if value is not None:
        return value
    if default is not None:
        return default
    return DEFAULTS.get(name, "")


def get_env_int(
    name: str,
    default: int | None = None,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    raw = get_env(name, None if default is None else str(default), environ).strip()
    try:
        value = int(raw)
    except ValueError:
        raise EnvError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise EnvError(f"{name} must be at least {minimum}, got {value}")
    return value


def get_env_bool(name: str, default: bool | None = None, environ: Mapping[str, str] | None = None) -> bool:
    fallback = None if default is None else ("true" if default else "false")
    raw = get_env(name, fallback, environ).strip().lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise EnvError(f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def get_env_choice(
    name: str, choices: Sequence[str], default: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """One of `choices` (case-insensitive)."""
    raw = get_env(name, default, environ).strip().lower()
    if raw not in choices:
        raise EnvError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def get_env_duration(
    name: str, default: str | float | None = None, environ: Mapping[str, str] | None = None
) -> float:
    """Seconds, from `250ms`, `15s`, `10m`, `1h` or a plain number of seconds."""
    raw = get_env(name, None if default is None else str(default), environ).strip()
    match = _DURATION.fullmatch(raw)
    if match is None:
        raise EnvError(f"{name} must be a duration like 250ms, 15s, 10m or 1h, got {raw!r}")
    return float(match["number"]) * _UNITS[match["unit"]]
