"""`rdev keys`: API keys: list, create, get, revoke, rotate. `create` and `rotate` print only
the secret in text mode (so `KEY=$(rdev keys create ...)` works) and the whole object with
`-o json` (spec/rdev-cli.md "Behaviour")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from rdev_cli.common import AllPages, Limit, Yes, api, command, confirm, show
from rdev_cli.errors import EXIT_USAGE, CliError
from rdev_cli.output import emit, emit_secret, info

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("id", "name", "scopes", "projects", "expires_at", "revoked_at")
WIDE = ("allowed_ips", "last_used_at", "created_at", "created_by")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION_PART = re.compile(r"(\d+)([smhdw])")
EXPIRES_HINT = (
    "e.g. --expires 30d (units s, m, h, d, w; combined like 1h30m) or --expires 2030-01-01T00:00:00Z"
)

KeyId = Annotated[
    str, typer.Argument(help="The key's id (the part after rdev_ in the key).", show_default=False)
]


def expires_at(text: str, now: datetime | None = None) -> str:
    """`--expires`: a duration from now (30d, 12h, 90m, 1h30m) or an ISO 8601 time with a zone."""
    compact = text.strip().lower()
    parts = DURATION_PART.findall(compact)
    if parts and "".join(n + u for n, u in parts) == compact:
        seconds = sum(int(n) * UNITS[u] for n, u in parts)
        try:
            when = (now or datetime.now(UTC)) + timedelta(seconds=seconds)
        except OverflowError:
            raise CliError(
                f"--expires {text!r} is too far away", hint=EXPIRES_HINT, exit_code=EXIT_USAGE
            ) from None
        if seconds <= 0:
            raise CliError(
                f"--expires {text!r} must be in the future", hint=EXPIRES_HINT, exit_code=EXIT_USAGE
            )
        return when.isoformat()
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"--expires {text!r}: expected a duration or an ISO 8601 time",
            hint=EXPIRES_HINT,
            exit_code=EXIT_USAGE,
        ) from None
    if when.tzinfo is None:
        raise CliError(
            f"--expires {text!r} has no time zone",
            hint="add one, e.g. 2030-01-01T00:00:00Z",
            exit_code=EXIT_USAGE,
        )
    return when.isoformat()


@command(app, "list", "ls")
def list_keys(limit: Limit = None, all_pages: AllPages = False) -> None:
    """API keys (never their secrets), revoked ones included."""
    with api() as client:
        keys = client.list("/keys", limit=limit, all_pages=all_pages)
    emit(keys, COLUMNS, wide=WIDE, name_key="id")


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", "-n", help="What the key is for.", show_default=False)],
    scopes: Annotated[
        list[str],
        typer.Option(
            "--scope",
            "-s",
            help="A scope (repeat), e.g. projects:read, queue:write, admin.",
            show_default=False,
        ),
    ],
    projects: Annotated[
        list[str] | None,
        typer.Option("--project", "-p", help="Restrict to this project (repeat). Default: all."),
    ] = None,
    allowed_ips: Annotated[
        list[str] | None, typer.Option("--allow-ip", help="Accept the key only from this CIDR (repeat).")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option("--expires", help="Lifetime (30d, 12h, 90m) or an ISO 8601 time. Default: never."),
    ] = None,
) -> None:
    """Create a key no broader than yours; prints its secret once (the object with -o json)."""
    body: dict[str, Any] = {"name": name, "scopes": scopes}
    if projects:
        body["projects"] = projects
    if allowed_ips:
        body["allowed_ips"] = allowed_ips
    if expires is not None:
        body["expires_at"] = expires_at(expires)
    with api() as client:
        key = client.post("/keys", body)
    info(f"created key {key['id']} ({key['name']}): the secret is shown only now, store it")
    emit_secret(key, "token", COLUMNS)


@app.command("get")
def get(key_id: KeyId) -> None:
    """One key (never its secret)."""
    show("GET", f"/keys/{key_id}", COLUMNS, WIDE)


@app.command("revoke")
def revoke(key_id: KeyId, yes: Yes = False) -> None:
    """Revoke a key: it stops working at once; its record stays for the audit trail."""
    confirm(f"Revoke key {key_id}?", yes, f"rdev keys revoke {key_id}")
    with api() as client:
        key = client.call("DELETE", f"/keys/{key_id}")
    emit(key, COLUMNS, wide=WIDE, name_key="id")
    info(f"revoked key {key_id}")


@app.command("rotate")
def rotate(key_id: KeyId) -> None:
    """A new secret for the key (printed once); the old one stops working at once."""
    with api() as client:
        key = client.post(f"/keys/{key_id}/rotate")
    info(f"rotated key {key_id}: the old secret no longer works; store the new one now")
    emit_secret(key, "token", COLUMNS)
