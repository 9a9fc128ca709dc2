"""`rdev config`: the settings in use and where they came from, and the profiles of the profile
file (rdev_cli/profile.py: YAML, 0600, atomic writes under a lock) (spec/rdev-cli.md "Config")."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

import typer

from rdev_cli.common import Yes, command, confirm
from rdev_cli.errors import EXIT_CONFLICT, EXIT_NOT_FOUND, EXIT_USAGE, CliError
from rdev_cli.output import emit, info, structured, write

app = typer.Typer(no_args_is_help=True)
profiles_app = typer.Typer(no_args_is_help=True)
app.add_typer(
    profiles_app, name="profiles", help="Named profiles (a URL and a key): list, add, use, current, delete."
)

KEYS = ("url", "api_key")
PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
KeyArg = Annotated[str, typer.Argument(help="url or api_key.")]
NameArg = Annotated[str, typer.Argument(help="The profile's name.")]


def _check_key(key: str) -> str:
    if key not in KEYS:
        raise CliError(f"unknown setting {key!r}", hint=f"settings: {', '.join(KEYS)}", exit_code=EXIT_USAGE)
    return key


def _check_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(
            f"invalid URL {url!r}",
            hint="use http(s)://HOST[:PORT], e.g. http://127.0.0.1:8484",
            exit_code=EXIT_USAGE,
        )
    return url.rstrip("/")


def _existing(data: dict[str, Any], name: str) -> dict[str, Any]:
    profile = data["profiles"].get(name)
    if not isinstance(profile, dict):
        from rdev_cli.profile import config_path

        raise CliError(
            f"no profile {name!r} in {config_path()}",
            hint=f"profiles: {', '.join(data['profiles']) or 'none'}; "
            f"add one: rdev config profiles add {name} --url URL",
            exit_code=EXIT_NOT_FOUND,
        )
    return profile


def _target(data: dict[str, Any], *, create: bool) -> tuple[str, dict[str, Any]]:
    """The profile a change goes to: one named by --profile/RDEV_PROFILE must exist; the
    current (or default) one is created on first use when `create`."""
    from rdev_cli.settings import active_profile_name

    name, source = active_profile_name(data)
    if source.startswith(("flag", "env")):
        return name, _existing(data, name)
    profile = data["profiles"].get(name)
    if not isinstance(profile, dict):
        profile = {}
        if create:
            data["profiles"][name] = profile
    return name, profile


def _env_wins(key: str) -> None:
    env = {"url": "RDEV_API_URL", "api_key": "RDEV_API_KEY", "profile": "RDEV_PROFILE"}[key]
    if os.environ.get(env):
        info(f"Note: {env} is set in this shell and wins over the profile file.")


@app.command("show")
def show(
    sources: Annotated[bool, typer.Option("--sources", help="Also name where each value came from.")] = False,
) -> None:
    """The settings in use (flag > env > profile > default), the key masked."""
    from rdev_cli.profile import config_path
    from rdev_cli.settings import mask, resolve

    settings = resolve()
    values = {"profile": settings.profile, "url": settings.url, "api_key": mask(settings.api_key)}
    file_source = "env RDEV_CONFIG_DIR" if os.environ.get("RDEV_CONFIG_DIR") else "default"
    if structured():
        data: dict[str, Any] = {**values, "config_file": str(config_path())}
        if sources:
            data["sources"] = {**settings.sources, "config_file": file_source}
        emit(data, ())
        return
    rows = [{"key": k, "value": v or "(none)", "source": settings.sources[k]} for k, v in values.items()]
    rows.append({"key": "config_file", "value": str(config_path()), "source": file_source})
    emit(rows, ("key", "value", "source") if sources else ("key", "value"), name_key="key")


@app.command("get")
def get(key: KeyArg) -> None:
    """The value in use of one setting (the key masked: `rdev auth token` prints it)."""
    from rdev_cli.settings import mask, resolve

    settings = resolve()
    if _check_key(key) == "url":
        write(settings.url)
        return
    if not settings.api_key:
        settings.require_key()
    write(mask(settings.api_key))
    info("The key is masked; `rdev auth token` prints it.")


@app.command("set")
def set_value(key: KeyArg, value: Annotated[str, typer.Argument(help="The new value.")]) -> None:
    """Set a setting in the profile (--profile NAME, else the current one)."""
    from rdev_cli.profile import edit_config

    if _check_key(key) == "api_key":
        raise CliError(
            "refusing to take an API key from the command line (shell history, process list)",
            hint="rdev auth login --with-key < keyfile  (checks the key with the API, then saves it)",
            exit_code=EXIT_USAGE,
        )
    url = _check_url(value)
    with edit_config() as data:
        name, profile = _target(data, create=True)
        profile["url"] = url
        if not data.get("current_profile"):
            data["current_profile"] = name
    info(f"Set url of profile {name!r} to {url}.")
    _env_wins("url")


@app.command("unset")
def unset(key: KeyArg) -> None:
    """Remove a setting from the profile (--profile NAME, else the current one)."""
    from rdev_cli.profile import edit_config

    _check_key(key)
    with edit_config() as data:
        name, profile = _target(data, create=False)
        removed = profile.pop(key, None) is not None
    info(
        f"Removed {key} from profile {name!r}."
        if removed
        else f"Profile {name!r} has no {key}; nothing to do."
    )


@command(profiles_app, "list", "ls")
def list_profiles() -> None:
    """The profiles of the profile file; `current` marks the one in use."""
    from rdev_cli.profile import read_config
    from rdev_cli.settings import active_profile_name, mask

    data = read_config()
    current, _ = active_profile_name(data)
    rows = [
        {"name": name, "current": name == current, "url": p.get("url"), "api_key": mask(p.get("api_key"))}
        for name, p in (data.get("profiles") or {}).items()
        if isinstance(p, dict)
    ]
    emit(rows, ("name", "current", "url", "api_key"))


@profiles_app.command("add")
def add(
    name: NameArg,
    url: Annotated[str, typer.Option("--url", help="The API's URL, e.g. https://rdev.example.com.")],
    use: Annotated[bool, typer.Option("--use", help="Make it the current profile.")] = False,
) -> None:
    """Add a profile; then log in to it: rdev auth login --profile NAME --with-key < keyfile."""
    from rdev_cli.profile import edit_config

    if not PROFILE_NAME.fullmatch(name):
        raise CliError(
            f"invalid profile name {name!r}",
            hint="letters, digits, '.', '_' and '-' (at most 63), e.g. staging",
            exit_code=EXIT_USAGE,
        )
    checked = _check_url(url)
    with edit_config() as data:
        if name in data["profiles"]:
            raise CliError(
                f"profile {name!r} exists",
                hint=f"change its URL: rdev config set url {checked} --profile {name}",
                exit_code=EXIT_CONFLICT,
            )
        data["profiles"][name] = {"url": checked}
        if use or not data.get("current_profile"):
            data["current_profile"] = name
        now_current = data["current_profile"] == name
    info(f"Added profile {name!r} ({checked}){' and made it current' if now_current else ''}.")
    info(f"Log in: rdev auth login --profile {name} --with-key < keyfile")


@profiles_app.command("use")
def use(name: NameArg) -> None:
    """Make a profile the current one (RDEV_PROFILE and --profile still win)."""
    from rdev_cli.profile import edit_config

    with edit_config() as data:
        _existing(data, name)
        data["current_profile"] = name
    info(f"Now using profile {name!r}.")
    _env_wins("profile")


@profiles_app.command("current")
def current() -> None:
    """The name of the profile in use (--profile > RDEV_PROFILE > the file's current one)."""
    from rdev_cli.profile import read_config
    from rdev_cli.settings import active_profile_name

    write(active_profile_name(read_config())[0])


@command(profiles_app, "delete", "rm")
def delete(name: NameArg, yes: Yes = False) -> None:
    """Delete a profile with its URL and key."""
    from rdev_cli.profile import edit_config, read_config

    _existing({"profiles": read_config().get("profiles") or {}}, name)
    confirm(f"Delete profile {name!r} and its key?", yes, f"rdev config profiles delete {name}")
    with edit_config() as data:
        _existing(data, name)
        del data["profiles"][name]
        was_current = data.get("current_profile") == name
        if was_current:
            data.pop("current_profile")
    info(f"Deleted profile {name!r}.")
    if was_current:
        info("It was the current profile: choose another with `rdev config profiles use NAME`.")
