"""`rdev auth`: log in with a key checked by `GET /whoami` before it is saved in the profile
file, log out, show who you are, print the key for scripts (spec/rdev-cli.md)."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from rdev_cli.common import interactive
from rdev_cli.errors import EXIT_AUTH, EXIT_USAGE, CliError
from rdev_cli.output import emit, info, structured, write

app = typer.Typer(no_args_is_help=True)

LOGIN_HINT = "rdev auth login --with-key < keyfile"


def _read_key(with_key: bool) -> str:
    """The key from stdin (`--with-key`) or a hidden prompt (on a terminal); never from argv."""
    if with_key:
        key = sys.stdin.read().strip()
    elif interactive():
        key = str(typer.prompt("API key", hide_input=True, err=True)).strip()
    else:
        raise CliError(
            "no terminal to ask for the key on",
            hint=f"pipe it in: {LOGIN_HINT}",
            exit_code=EXIT_USAGE,
        )
    if not key:
        raise CliError("no key given (empty input)", hint=LOGIN_HINT, exit_code=EXIT_USAGE)
    if len(key.split()) != 1:
        raise CliError("the key must be one word (rdev_<id>_<secret>)", hint=LOGIN_HINT, exit_code=EXIT_USAGE)
    return key


def _whoami(url: str, key: str, profile: str) -> dict[str, Any]:
    from rdev_cli.client import Api
    from rdev_cli.settings import Settings

    with Api(Settings(profile=profile, url=url.rstrip("/"), api_key=key)) as api:
        answer: dict[str, Any] = api.get("/whoami")
    return answer


@app.command("login")
def login(
    with_key: Annotated[bool, typer.Option("--with-key", help="Read the key from stdin.")] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", help="The API's URL (default: --api-url, RDEV_API_URL, the profile's)."),
    ] = None,
) -> None:
    """Check a key with the API (GET /whoami) and save it, with the URL, in the profile
    (--profile NAME, else RDEV_PROFILE, else the current one)."""
    from rdev_cli.profile import read_config, update_profile
    from rdev_cli.settings import DEFAULT_URL, OVERRIDES, active_profile_name

    config = read_config()
    name, _ = active_profile_name(config)
    stored = (config.get("profiles") or {}).get(name) or {}
    target = url or OVERRIDES.api_url or os.environ.get("RDEV_API_URL") or stored.get("url") or DEFAULT_URL
    key = _read_key(with_key)
    try:
        who = _whoami(target, key, name)
    except CliError as err:
        err.message = f"{err.message}; nothing saved"
        if err.exit_code == EXIT_AUTH:
            err.hint = "check the key (rdev_<id>_<secret>); a lost admin key: `rdev server admin-key`"
        raise
    path = update_profile(name, url=target.rstrip("/"), api_key=key)
    info(f"Logged in to {target} with key {who.get('name')} ({who.get('id')}).")
    info(f"Saved in profile {name!r} ({path}).")
    if read_config().get("current_profile") != name:
        info(f"Profile {name!r} is not the current one: `rdev config profiles use {name}` to make it so.")
    if os.environ.get("RDEV_API_KEY"):
        info("Note: RDEV_API_KEY is set in this shell and still wins over the saved key.")


@app.command("logout")
def logout() -> None:
    """Remove the key from the profile (--profile NAME, else the current one); the URL stays."""
    from rdev_cli.profile import edit_config
    from rdev_cli.settings import active_profile_name

    with edit_config() as data:
        name, _ = active_profile_name(data)
        profile = data["profiles"].get(name)
        had_key = isinstance(profile, dict) and profile.pop("api_key", None) is not None
    info(
        f"Removed the key of profile {name!r}."
        if had_key
        else f"Profile {name!r} holds no key; nothing to do."
    )
    if os.environ.get("RDEV_API_KEY"):
        info("Note: RDEV_API_KEY is still set in this shell: `unset RDEV_API_KEY` to log out entirely.")


@app.command("status")
def status() -> None:
    """The URL, profile and key in use (key masked), and what the API says of the key:
    name, scopes, projects, expiry."""
    from rdev_cli.settings import mask, resolve

    settings = resolve()
    key = settings.require_key()
    local = {
        "url": settings.url,
        "profile": settings.profile,
        "api_key": mask(key),
        "sources": settings.sources,
    }
    as_data = structured()
    if not as_data:
        for field in ("url", "profile", "api_key"):
            write(f"{field + ':':<12}{local[field]}  ({settings.sources[field]})")
    who = _whoami(settings.url, key, settings.profile)
    if as_data:
        emit({**local, "whoami": who}, ())
        return
    lines = {
        "key": f"{who.get('name')} (id {who.get('id')})",
        "scopes": ", ".join(who.get("scopes") or []) or "-",
        "projects": ", ".join(who.get("projects") or []) or "-",
        "expires": who.get("expires_at") or "never",
    }
    if who.get("allowed_ips"):
        lines["allowed ips"] = ", ".join(who["allowed_ips"])
    for label, value in lines.items():
        write(f"{label + ':':<12}{value}")


@app.command("token")
def token() -> None:
    """Print the key in use, for scripts: `curl -H "X-API-Key: $(rdev auth token)" ...`."""
    from rdev_cli.settings import resolve

    write(resolve().require_key())
