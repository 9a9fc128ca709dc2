"""rdev_api.envutil: typed knobs with declared defaults; bad values name the variable."""

from __future__ import annotations

import pytest

from rdev_api.envutil import EnvError, get_env, get_env_bool, get_env_duration, get_env_int


def test_declared_defaults_and_overrides() -> None:
    assert get_env_duration("RDEV_SSE_HEARTBEAT", environ={}) == 15.0
    assert get_env_duration("RDEV_WEBHOOK_BACKOFF_CAP", environ={}) == 600.0
    assert get_env_int("RDEV_WEBHOOK_MAX_ATTEMPTS", environ={}) == 10
    assert get_env_duration("RDEV_SSE_HEARTBEAT", environ={"RDEV_SSE_HEARTBEAT": "250ms"}) == 0.25
    assert get_env_duration("RDEV_LEASE", environ={"RDEV_LEASE": "2"}) == 2.0
    assert get_env("RDEV_UNDECLARED", environ={}) == ""
    assert get_env("RDEV_UNDECLARED", "x", environ={}) == "x"


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("yes", True), ("off", False), ("", False)])
def test_booleans(raw: str, expected: bool) -> None:
    assert get_env_bool("RDEV_FLAG", environ={"RDEV_FLAG": raw}) is expected


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(EnvError, match="RDEV_LEASE must be a duration"):
        get_env_duration("RDEV_LEASE", environ={"RDEV_LEASE": "soon"})
    with pytest.raises(EnvError, match="RDEV_EMBEDDED_WORKERS must be a whole number"):
        get_env_int("RDEV_EMBEDDED_WORKERS", environ={"RDEV_EMBEDDED_WORKERS": "two"})
    with pytest.raises(EnvError, match="at least 0"):
        get_env_int("RDEV_EMBEDDED_WORKERS", minimum=0, environ={"RDEV_EMBEDDED_WORKERS": "-1"})
    with pytest.raises(EnvError, match="RDEV_FLAG must be true or false"):
        get_env_bool("RDEV_FLAG", environ={"RDEV_FLAG": "maybe"})
