"""`rdev credentials`: secrets the API stores encrypted for projects: list, set, delete,
reveal. A value comes from `--from-file` or stdin (a hidden prompt on a terminal), never
from argv, where `ps` and the shell history would keep it."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from rdev_cli.common import AllPages, Limit, Yes, api, command, confirm, read_input
from rdev_cli.errors import EXIT_USAGE, CliError
from rdev_cli.output import emit, info, structured, write

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("name", "description", "updated_at")
WIDE = ("created_at",)
Name = Annotated[str, typer.Argument(help="The credential's name ([A-Za-z0-9_.-]).", show_default=False)]


def _refuse_argv(name: str) -> CliError:
    return CliError(
        "refusing a credential value on the command line: other users see it in `ps` and your shell keeps it",
        hint=f"rdev credentials set {name} --from-file FILE, or pipe it: rdev credentials set {name} < FILE",
        exit_code=EXIT_USAGE,
    )


def _check_extra(name: str, extra: list[str]) -> None:
    """Words after NAME: an unknown long option is a typo; anything else a value, refused."""
    for word in extra:
        option = word.partition("=")[0]
        if option.startswith("--") and option != "--value":
            raise CliError(
                f"no such option: {option}", hint="see `rdev credentials set --help`", exit_code=EXIT_USAGE
            )
    if extra:
        raise _refuse_argv(name)


def _strip_newline(value: str) -> str:
    """One trailing newline (what `echo` and editors add) is not part of the value."""
    for ending in ("\r\n", "\n"):
        if value.endswith(ending):
            return value[: -len(ending)]
    return value


def _read_value(name: str, from_file: str | None) -> str:
    """The value: --from-file FILE (- for stdin), else stdin, else a hidden prompt on a terminal."""
    if from_file is None and sys.stdin.isatty():
        value = str(typer.prompt(f"Value of {name}", hide_input=True, err=True))
    else:
        path = from_file or "-"
        where = "stdin" if path == "-" else f"--from-file {path}"
        value = _strip_newline(read_input(path, where, "name a readable UTF-8 file"))
    if not value:
        raise CliError(
            f"empty value for credential {name}",
            hint=f"rdev credentials set {name} --from-file FILE, or pipe the value on stdin",
            exit_code=EXIT_USAGE,
        )
    return value


@command(app, "list", "ls")
def list_credentials(limit: Limit = None, all_pages: AllPages = False) -> None:
    """Credentials: names and metadata, never values."""
    with api() as client:
        found = client.list("/credentials", limit=limit, all_pages=all_pages)
    emit(found, COLUMNS, wide=WIDE)


# extra words are taken in (not a click error) so that a value given there is refused by name
@app.command("set", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def set_credential(
    ctx: typer.Context,
    name: Name,
    from_file: Annotated[
        str | None, typer.Option("--from-file", "-f", help="Read the value from FILE (- for stdin).")
    ] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="What it is for.")] = None,
) -> None:
    """Create a credential or replace its value: from --from-file, stdin, or a hidden prompt.

    One trailing newline is dropped. The value is never taken from the command line."""
    _check_extra(name, ctx.args)
    body: dict[str, Any] = {"value": _read_value(name, from_file)}
    if description is not None:
        body["description"] = description
    with api() as client:
        credential = client.call("PUT", f"/credentials/{name}", json_body=body)
    emit(credential, COLUMNS, wide=WIDE)
    info(f"stored credential {name}")


@command(app, "delete", "rm")
def delete(name: Name, yes: Yes = False) -> None:
    """Delete a credential (refused while a project binds it)."""
    confirm(f"Delete credential {name}?", yes, f"rdev credentials delete {name}")
    with api() as client:
        client.call("DELETE", f"/credentials/{name}")
    info(f"deleted credential {name}")


@app.command("reveal")
def reveal(name: Name) -> None:
    """Print the decrypted value (admin; audited): the value alone, the object with -o json."""
    with api() as client:
        revealed = client.post(f"/credentials/{name}/reveal")
    if structured():
        emit(revealed, ("name", "value"))
    else:
        write(str(revealed["value"]))
