"""Where `rdev` finds its API URL and key (spec/rdev-cli.md "Config"): flag > env
(`RDEV_API_URL`, `RDEV_API_KEY`, `RDEV_PROFILE`) > the active profile of the profile file >
defaults. Every value remembers its source for `rdev config show --sources`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rdev_cli.errors import EXIT_AUTH, EXIT_USAGE, CliError

DEFAULT_URL = "http://127.0.0.1:8484"
PROFILE_KEYS = ("url", "api_key")


@dataclass
class Overrides:
    """What global flags said; set by the entry point before a command runs."""

    profile: str | None = None
    api_url: str | None = None


OVERRIDES = Overrides()


@dataclass
class Settings:
    profile: str
    url: str
    api_key: str | None
    sources: dict[str, str] = field(default_factory=dict)

    def require_key(self) -> str:
        if not self.api_key:
            raise CliError(
                f"no API key for {self.url} (profile {self.profile!r})",
                hint="rdev auth login --with-key < keyfile, set RDEV_API_KEY, or `rdev server start`",
                exit_code=EXIT_AUTH,
            )
        return self.api_key


def mask(secret: str | None) -> str:
    """A key as it may be shown: its public prefix only."""
    if not secret:
        return ""
    return secret[:9] + "…" if len(secret) > 12 else "…"


def active_profile_name(config: dict[str, Any]) -> tuple[str, str]:
    """The profile to use and where that choice came from."""
    if OVERRIDES.profile:
        return OVERRIDES.profile, "flag --profile"
    if os.environ.get("RDEV_PROFILE"):
        return os.environ["RDEV_PROFILE"], "env RDEV_PROFILE"
    if config.get("current_profile"):
        return str(config["current_profile"]), "profile file current_profile"
    return "local", "default"


def resolve() -> Settings:
    from rdev_cli.profile import config_path, read_config

    config = read_config()
    name, name_source = active_profile_name(config)
    profiles = config.get("profiles") or {}
    profile = profiles.get(name)
    explicit = OVERRIDES.profile or os.environ.get("RDEV_PROFILE")
    if explicit and not isinstance(profile, dict):
        raise CliError(
            f"no profile {name!r} in {config_path()}",
            hint=f"profiles: {', '.join(profiles) or 'none'}; "
            f"add one with `rdev config profiles add {name} --url URL`",
            exit_code=EXIT_USAGE,
        )
    profile = profile if isinstance(profile, dict) else {}
    sources = {"profile": name_source}
    url, sources["url"] = _pick(OVERRIDES.api_url, "RDEV_API_URL", profile.get("url"), name, DEFAULT_URL)
    key, sources["api_key"] = _pick(None, "RDEV_API_KEY", profile.get("api_key"), name, None)
    return Settings(profile=name, url=str(url).rstrip("/"), api_key=key, sources=sources)


def _pick(
    flag: str | None, env: str, from_profile: Any, profile: str, default: str | None
) -> tuple[Any, str]:
    if flag:
        return flag, "flag"
    if os.environ.get(env):
        return os.environ[env], f"env {env}"
    if from_profile:
        return from_profile, f"profile {profile!r}"
    return default, "default"
