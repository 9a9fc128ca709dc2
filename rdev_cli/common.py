"""What the API command groups share: the client, aliases, list options, `--yes`, KEY=VALUE
pairs, waiting with a deadline (spec/rdev-cli.md "Behaviour")."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from rdev_cli.errors import EXIT_STILL_RUNNING, EXIT_USAGE, CliError
from rdev_cli.output import emit

if TYPE_CHECKING:  # keeps httpx out of `rdev --help`
    from rdev_cli.client import Api

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# the list options every `list` command takes
Limit = Annotated[int | None, typer.Option("--limit", min=1, help="At most this many items.")]
AllPages = Annotated[bool, typer.Option("--all", help="Follow every page (the API's Link: rel=next).")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; needed when not on a terminal.")]
WaitTimeout = Annotated[
    float | None, typer.Option("--timeout", min=0, help="Give up after this many seconds (exit 8).")
]


def api(*, timeout: float | None = None) -> Api:
    """The API client of the resolved settings (flags, env, profile)."""
    from rdev_cli.client import STANDARD_TIMEOUT_S, Api

    return Api(timeout=timeout or STANDARD_TIMEOUT_S)


def show(method: str, path: str, columns: Sequence[str], wide: Sequence[str] = ()) -> Any:
    """One call whose answer is printed as it is (`get`, and verbs that return the object)."""
    with api() as client:
        found = client.call(method, path, json_body=None if method == "GET" else {})
    emit(found, columns, wide=wide, name_key="id")
    return found


def command(app: typer.Typer, name: str, *aliases: str, **kwargs: Any) -> Callable[[F], F]:
    """Register a command under `name` and hidden `aliases` (ls/list, rm/delete)."""

    def register(func: F) -> F:
        app.command(name, **kwargs)(func)
        for alias in aliases:
            app.command(alias, hidden=True, **kwargs)(func)
        return func

    return register


def interactive() -> bool:
    """Prompts only when a person is there: stdin and stdout are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm(question: str, yes: bool, flag_hint: str) -> None:
    """A destructive step: `--yes`, or a terminal to ask on; else fail fast naming the flag."""
    if yes:
        return
    if not interactive():
        raise CliError(
            f"{question.rstrip('?')}: refusing without confirmation (not a terminal)",
            hint=f"add --yes: {flag_hint} --yes",
            exit_code=EXIT_USAGE,
        )
    if not typer.confirm(question, default=False, err=True):
        raise CliError("cancelled, nothing changed", exit_code=EXIT_USAGE)


def read_input(path: str, source: str, hint: str) -> str:
    """The UTF-8 text of `path` (- is stdin); exit 2 naming `source` when it cannot be read."""
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CliError(
            f"cannot read {source}: {getattr(err, 'strerror', None) or err}", hint=hint, exit_code=EXIT_USAGE
        ) from None


def pairs(values: list[str] | None, option: str, separator: str = "=") -> dict[str, str]:
    """`--var k=v` style options as a dict; CliError naming the bad one."""
    result: dict[str, str] = {}
    for value in values or []:
        key, found, rest = value.partition(separator)
        if not found or not key:
            raise CliError(
                f"{option} {value!r}: expected KEY{separator}VALUE",
                hint=f"e.g. {option} name{separator}value",
                exit_code=EXIT_USAGE,
            )
        result[key] = rest
    return result


def wait_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    what: str,
    hint: str,
    interval: float = 0.2,
    max_interval: float = 2.0,
) -> T:
    """Poll `fetch` until `done` (backing off up to `max_interval`); exit 8 naming `what` when
    `timeout` passes. A spinner on stderr only when it is a terminal."""
    deadline = None if timeout is None else time.monotonic() + timeout
    status = None
    if sys.stderr.isatty():
        from rich.console import Console

        status = Console(stderr=True).status(f"waiting for {what}")
        status.start()
    try:
        while True:
            value = fetch()
            if done(value):
                return value
            if deadline is not None and time.monotonic() >= deadline:
                raise CliError(
                    f"{what} is still running after {timeout:g} s", hint=hint, exit_code=EXIT_STILL_RUNNING
                )
            pause = interval if deadline is None else min(interval, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)
            interval = min(max_interval, interval * 1.5)
    finally:
        if status is not None:
            status.stop()
