"""`rdev work`: the API's work queue (spec/rdev-api.md "Work items"): submit (a JSON payload,
or a command after `--`), batch (many items from a file), list, get, cancel, retry, stats,
wait."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rdev_cli.common import AllPages, Limit, WaitTimeout, api, command, read_input, show, wait_until
from rdev_cli.errors import EXIT_ERROR, EXIT_USAGE, CliError
from rdev_cli.output import emit, info, structured, table_mode, write

if TYPE_CHECKING:
    from rdev_cli.client import Api

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("id", "type", "project", "status", "attempts", "created_at")
WIDE = ("priority", "max_attempts", "worker_id", "finished_at", "last_error")
STATUSES = ("queued", "running", "succeeded", "failed", "dead", "cancelled")
FINISHED = frozenset({"succeeded", "failed", "dead", "cancelled"})
WAIT_EXITS = (
    "Exit 0 when it succeeded, 1 when it failed, died or was cancelled, 8 when --timeout passes first."
)
BATCH_SIZE = 100  # the API's most per POST /work/batch
WAIT_HELP = f"Wait until it finishes (--timeout implies it). {WAIT_EXITS}"

ItemId = Annotated[str, typer.Argument(help="The work item's id (wi_...).", show_default=False)]
Wait = Annotated[bool, typer.Option("--wait", "-w", help=WAIT_HELP)]


def wait_for_item(client: Api, item_id: str, timeout: float | None) -> dict[str, Any]:
    """Poll the item until it finished; exit 8 naming `rdev work wait` when `timeout` passes."""
    item: dict[str, Any] = wait_until(
        lambda: client.get(f"/work/{item_id}"),
        lambda found: found["status"] in FINISHED,
        timeout=timeout,
        what=f"work item {item_id}",
        hint=f"rdev work wait {item_id}",
    )
    return item


def require_success(item: dict[str, Any]) -> None:
    """Exit 1 unless the finished item succeeded, naming its status and last error."""
    status = item["status"]
    if status == "succeeded":
        return
    error = f": {item['last_error']}" if item.get("last_error") else ""
    raise CliError(
        f"work item {item['id']} {status}{error}",
        hint=None if status == "cancelled" else f"try it again: rdev work retry {item['id']}",
        exit_code=EXIT_ERROR,
    )


JSON_HINT = "name a readable UTF-8 JSON file, or - for stdin"


def _payload(payload: str | None, payload_file: str | None) -> dict[str, Any]:
    if payload is not None and payload_file is not None:
        raise CliError("give --payload or --payload-file, not both", exit_code=EXIT_USAGE)
    if payload_file is not None:
        source = "--payload-file " + payload_file
        text = read_input(payload_file, source, JSON_HINT)
    elif payload is not None:
        source, text = "--payload", payload
    else:
        return {}
    try:
        data = json.loads(text)
    except ValueError as err:
        raise CliError(
            f"{source} is not valid JSON: {err}",
            hint="""e.g. --payload '{"key": "value"}'""",
            exit_code=EXIT_USAGE,
        ) from None
    if not isinstance(data, dict):
        raise CliError(
            f"{source} must be a JSON object, not {type(data).__name__}",
            hint="""e.g. --payload '{"key": "value"}'""",
            exit_code=EXIT_USAGE,
        )
    return data


def _command_item(
    argv: list[str], type_: str | None, project: str | None, has_payload: bool
) -> dict[str, Any]:
    """`rdev work submit --project P -- CMD ARGS`: a `command` item running argv in P."""
    if type_ not in (None, "command"):
        raise CliError(
            f"a command after -- makes a `command` item, not {type_!r}",
            hint="drop --type, or drop the command and give --payload",
            exit_code=EXIT_USAGE,
        )
    if has_payload:
        raise CliError(
            "give the command after -- or a payload, not both",
            hint="rdev work submit --project NAME -- CMD ARGS",
            exit_code=EXIT_USAGE,
        )
    if not project:
        raise CliError(
            "a command item runs in a project: --project is required",
            hint=f"rdev work submit --project NAME -- {' '.join(argv)}",
            exit_code=EXIT_USAGE,
        )
    return {"type": "command", "payload": {"kind": "shell", "argv": argv}}


@app.command("submit")
def submit(
    argv: Annotated[
        list[str] | None,
        typer.Argument(
            help="A command to run in --project (after --): makes a `command` item.", show_default=False
        ),
    ] = None,
    type_: Annotated[
        str | None, typer.Option("--type", "-t", help="The item's type, e.g. command, sdlc.")
    ] = None,
    project: Annotated[str | None, typer.Option("--project", "-p", help="The project it belongs to.")] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="The payload: a JSON object.")] = None,
    payload_file: Annotated[
        str | None, typer.Option("--payload-file", help="The payload from a JSON file; - reads stdin.")
    ] = None,
    priority: Annotated[
        int | None, typer.Option("--priority", min=-1000, max=1000, help="Higher runs first (default 0).")
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option("--max-attempts", min=1, max=100, help="Attempts before it is dead (default 3)."),
    ] = None,
    wait: Wait = False,
    timeout: WaitTimeout = None,
) -> None:
    """Queue a work item: `--type T --payload JSON`, or `--project P -- CMD ARGS` for a command."""
    if argv:
        body = _command_item(argv, type_, project, payload is not None or payload_file is not None)
    elif type_:
        body = {"type": type_, "payload": _payload(payload, payload_file)}
    else:
        raise CliError(
            "what to queue: give --type (with --payload) or a command after --",
            hint="rdev work submit --type TYPE --payload JSON, or rdev work submit -p NAME -- CMD ARGS",
            exit_code=EXIT_USAGE,
        )
    body.update(
        {
            k: v
            for k, v in (("project", project), ("priority", priority), ("max_attempts", max_attempts))
            if v is not None
        }
    )
    wait = wait or timeout is not None
    with api() as client:
        item = client.post("/work", body)
        info(f"queued work item {item['id']} ({item['type']})")
        if wait:
            item = wait_for_item(client, item["id"], timeout)
    emit(item, COLUMNS, wide=WIDE, name_key="id")
    if wait:
        require_success(item)
    else:
        info(f"Hint: wait for it with `rdev work wait {item['id']}`")


@app.command("batch")
def batch(
    file: Annotated[
        str,
        typer.Argument(
            help="Items as a JSON array or JSON lines of submit bodies; - reads stdin.", show_default=False
        ),
    ],
) -> None:
    """Queue many work items at once: each a submit body ({type, project, payload, priority,
    max_attempts, run_after}), sent up to 100 per request (all or none per request)."""
    items = _batch_items(read_input(file, file, JSON_HINT))
    created: list[dict[str, Any]] = []
    with api() as client:
        for start in range(0, len(items), BATCH_SIZE):
            try:
                created += client.post("/work/batch", {"items": items[start : start + BATCH_SIZE]})
            except CliError as err:
                emit(created, COLUMNS, wide=WIDE, name_key="id")
                err.message = (
                    f"queued {len(created)} of {len(items)} items; from item {start + 1}: {err.message}"
                )
                raise
    emit(created, COLUMNS, wide=WIDE, name_key="id")
    info(f"queued {len(created)} work items")


def _batch_items(text: str) -> list[dict[str, Any]]:
    """The items of a JSON array, or of JSON lines (blank lines skipped)."""
    try:
        data = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except ValueError as err:
        raise CliError(
            f"the items are not valid JSON: {err}",
            hint="""a JSON array of items, or one item per line: {"type": "command", ...}""",
            exit_code=EXIT_USAGE,
        ) from None
    if not data or not all(isinstance(item, dict) for item in data):
        raise CliError("give at least one item, each a JSON object", exit_code=EXIT_USAGE)
    return list(data)


@command(app, "list", "ls")
def list_items(
    status: Annotated[
        str | None, typer.Option("--status", "-s", help=f"One of: {', '.join(STATUSES)}.")
    ] = None,
    type_: Annotated[str | None, typer.Option("--type", "-t", help="Only items of this type.")] = None,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only items of this project.")
    ] = None,
    limit: Limit = None,
    all_pages: AllPages = False,
) -> None:
    """Work items, oldest first (one page unless --all)."""
    params = {"status": status, "type": type_, "project": project}
    with api() as client:
        items = client.list("/work", params, limit=limit, all_pages=all_pages)
    emit(items, COLUMNS, wide=WIDE, name_key="id")


@app.command("get")
def get(item_id: ItemId) -> None:
    """One work item (its payload and result with -o json)."""
    show("GET", f"/work/{item_id}", COLUMNS, WIDE)


@app.command("cancel")
def cancel(item_id: ItemId) -> None:
    """Cancel a queued or running item (its worker loses the lease)."""
    show("POST", f"/work/{item_id}/cancel", COLUMNS, WIDE)
    info(f"cancelled work item {item_id}")


@app.command("retry")
def retry(item_id: ItemId) -> None:
    """Put a failed or dead item back in the queue, its attempts reset."""
    show("POST", f"/work/{item_id}/retry", COLUMNS, WIDE)
    info(f"work item {item_id} is queued again")


@app.command("wait")
def wait_cmd(item_id: ItemId, timeout: WaitTimeout = None) -> None:
    """Wait until the item finishes and print it.

    Exit 0 when it succeeded, 1 when it failed, died or was cancelled, 8 when --timeout passes first."""
    with api() as client:
        item = wait_for_item(client, item_id, timeout)
    emit(item, COLUMNS, wide=WIDE, name_key="id")
    require_success(item)


@app.command("stats")
def stats() -> None:
    """Counts by status and type, the oldest queued item's age, recent run times."""
    with api() as client:
        data = client.get("/work/stats")
    if structured():
        emit(data, ())
        return
    # one row per type and a total: the statuses as columns
    totals = [("(all)", data["by_status"]), *sorted(data["by_type"].items())]
    rows = [{"type": name, **{s: counts.get(s, 0) for s in STATUSES}} for name, counts in totals]
    emit(rows, ("type", *STATUSES), name_key="type")
    if table_mode():
        write(_timings(data))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _timings(data: dict[str, Any]) -> str:
    return (
        f"\noldest queued: {_seconds(data['oldest_queued_age_s'])}; "
        f"finished in the last {data['window_s']:g} s: {data['finished_in_window']}; "
        f"run time mean {_seconds(data['run_time_mean_s'])}, p95 {_seconds(data['run_time_p95_s'])}"
    )
