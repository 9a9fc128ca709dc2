"""`rdev api PATH`: any API call with the configured URL and key, like `gh api`: string (-f) and
typed (-F) fields, a body from a file (--input), headers (-H), the status line and headers (-i),
every page of a list (--paginate). The body is printed even for errors; the exit code is the
status's (spec/rdev-cli.md "Exit codes")."""

from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rdev_cli.errors import EXIT_USAGE, CliError
from rdev_cli.output import write

if TYPE_CHECKING:
    import httpx

KEY_PATH = re.compile(r"(?P<name>[^\[\]=]+)(?P<rest>(?:\[[^\[\]]*\])*)")
NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
# the key header stays the one of the configured profile (origin-bound; never typed on argv)
FORBIDDEN_HEADERS = frozenset({"x-api-key"})


def _read(source: str, what: str) -> bytes:
    """A file's bytes, or stdin's for `-`."""
    if source == "-":
        buffer = getattr(sys.stdin, "buffer", None)
        return buffer.read() if buffer is not None else sys.stdin.read().encode()
    try:
        return Path(source).expanduser().read_bytes()
    except OSError as err:
        raise CliError(
            f"{what}: cannot read {source}: {err.strerror or err}",
            hint="give a readable file, or - for stdin",
            exit_code=EXIT_USAGE,
        ) from None


def _typed(value: str, option: str) -> Any:
    """-F values: true/false/null and numbers as JSON, @file (or @-) as the file's text."""
    if value.startswith("@"):
        return _read(value[1:], option).decode("utf-8", errors="replace")
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    if NUMBER.fullmatch(value):
        return json.loads(value)
    return value


def _assign(body: dict[str, Any], key: str, value: Any, option: str) -> None:
    """Put `value` at `key`: `name`, `a[b]` (an object) or `name[]` (append to an array)."""
    match = KEY_PATH.fullmatch(key)
    parts = [match["name"], *re.findall(r"\[([^\[\]]*)\]", match["rest"])] if match else []
    if not parts or "" in parts[:-1]:
        raise CliError(
            f"{option} {key!r}: expected KEY, KEY[SUB] or KEY[] (append)",
            hint=f"e.g. {option} name=value, {option} labels[team]=core, {option} argv[]=ls",
            exit_code=EXIT_USAGE,
        )
    node: Any = body
    for part, following in itertools.pairwise(parts):
        node = node.setdefault(part, [] if following == "" else {})
        if not isinstance(node, list if following == "" else dict):
            raise CliError(
                f"{option} {key!r}: {part!r} was given as another type before", exit_code=EXIT_USAGE
            )
    if parts[-1] == "":
        node.append(value)
    elif parts[-1] in node:
        raise CliError(
            f"{option} {key!r}: given twice", hint="use KEY[]=VALUE for a list", exit_code=EXIT_USAGE
        )
    else:
        node[parts[-1]] = value


def _fields(raw: list[str], typed: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for option, items in (("-f", raw), ("-F", typed)):
        for item in items:
            key, found, value = item.partition("=")
            if not found or not key:
                raise CliError(
                    f"{option} {item!r}: expected KEY=VALUE",
                    hint=f"e.g. {option} name=value",
                    exit_code=EXIT_USAGE,
                )
            _assign(body, key, _typed(value, option) if option == "-F" else value, option)
    return body


def _query(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as query parameters (GET, or when --input is the body); arrays repeat."""

    def text(value: Any) -> str:
        return json.dumps(value) if isinstance(value, bool) or value is None else str(value)

    params: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, dict):
            raise CliError(f"field {key!r}: objects cannot go in a query string", exit_code=EXIT_USAGE)
        params[key] = [text(v) for v in value] if isinstance(value, list) else text(value)
    return params


def _headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, found, content = value.partition(":")
        name = name.strip()
        if not found or not name:
            raise CliError(
                f"-H {value!r}: expected NAME:VALUE",
                hint="e.g. -H 'Accept: text/plain'",
                exit_code=EXIT_USAGE,
            )
        if name.lower() in FORBIDDEN_HEADERS:
            raise CliError(
                "refusing -H X-API-Key: the key comes from the profile or RDEV_API_KEY, never from argv",
                hint="use another profile: rdev --profile NAME api ..., or RDEV_API_KEY",
                exit_code=EXIT_USAGE,
            )
        headers[name] = content.strip()
    return headers


def _print_head(response: httpx.Response) -> None:
    write(f"{response.http_version} {response.status_code} {response.reason_phrase}")
    for name, value in response.headers.raw:
        write(f"{name.decode('latin-1')}: {value.decode('latin-1')}")
    write("")


def _print_body(response: httpx.Response) -> None:
    if not response.content:
        return
    try:
        write(json.dumps(response.json(), ensure_ascii=False, indent=2))
    except ValueError:
        write(response.text)


def _paginate(client: Any, path: str, params: dict[str, Any], headers: dict[str, str], include: bool) -> None:
    from rdev_cli.client import error_of

    merged: list[Any] = []
    url: str | None = path
    while url is not None:
        response = client.request("GET", url, params=params, headers=headers, check=False)
        params = {}  # the next link carries the query
        if include:
            _print_head(response)
        if response.status_code >= 400:
            _print_body(response)
            raise error_of(response)
        try:
            page = response.json()
        except ValueError:
            raise CliError(f"--paginate: {url} did not answer JSON", exit_code=EXIT_USAGE) from None
        if isinstance(page, list):
            merged.extend(page)
        else:
            merged.append(page)
        link = response.links.get("next")
        url = link.get("url") if link else None
    write(json.dumps(merged, ensure_ascii=False, indent=2))


def api(
    path: Annotated[str, typer.Argument(help="An API path, e.g. /projects or '/work?status=queued'.")],
    method: Annotated[
        str | None,
        typer.Option(
            "--method", "-X", help="HTTP method (default GET; POST when fields or --input are given)."
        ),
    ] = None,
    raw_field: Annotated[
        list[str] | None, typer.Option("--raw-field", "-f", help="A string field KEY=VALUE (repeat).")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            "-F",
            help="A typed field KEY=VALUE: true, false, null, numbers; @FILE reads a file (@- stdin).",
        ),
    ] = None,
    input_file: Annotated[
        str | None,
        typer.Option("--input", help="The request body from FILE (- for stdin); fields go to the query."),
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="A header NAME:VALUE (repeat).")
    ] = None,
    include: Annotated[
        bool, typer.Option("--include", "-i", help="Print the status line and headers before the body.")
    ] = False,
    paginate: Annotated[
        bool, typer.Option("--paginate", help="Follow Link rel=next; print one merged JSON array (GET).")
    ] = False,
) -> None:
    """Call the API at PATH and print the answer's body; fields go to the query for GET and to
    a JSON body otherwise; the exit code is the status's (body still printed)."""
    from rdev_cli.client import error_of
    from rdev_cli.common import api as client_of

    fields = _fields(raw_field or [], field or [])
    headers = _headers(header or [])
    verb = (method or ("POST" if fields or input_file is not None else "GET")).upper()
    if not re.fullmatch(r"[A-Z]+", verb):
        raise CliError(
            f"invalid method {method!r}", hint="e.g. -X GET, -X POST, -X DELETE", exit_code=EXIT_USAGE
        )
    if paginate and verb != "GET":
        raise CliError("--paginate follows lists: GET only", hint=f"drop -X {verb}", exit_code=EXIT_USAGE)
    in_query = verb in ("GET", "HEAD") or input_file is not None
    params = _query(fields) if in_query else {}
    content = None
    if input_file is not None:
        content = _read(input_file, "--input")
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    with client_of() as client:
        if paginate:
            _paginate(client, path, params, headers, include)
            return
        response = client.request(
            verb,
            path,
            params=params,
            headers=headers,
            content=content,
            json_body=fields if not in_query and (fields or verb in ("POST", "PUT", "PATCH")) else None,
            check=False,
        )
        if include:
            _print_head(response)
        _print_body(response)
        if response.status_code >= 400:
            raise error_of(response)


COMMANDS: dict[str, Any] = {"api": api}
