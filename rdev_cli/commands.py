"""`rdev commands`: list (per project, as the API lists them), get, logs (the stored events;
`-f` follows to the end), cancel and wait."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rdev_cli.common import AllPages, Limit, WaitTimeout, api, command
from rdev_cli.errors import EXIT_CONFLICT, EXIT_NOT_FOUND, EXIT_USAGE, CliError
from rdev_cli.output import OPTIONS, emit, info, write
from rdev_cli.projects import NOT_FOUND_HINT, hinted

if TYPE_CHECKING:
    from rdev_cli.client import Api

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("id", "project_id", "kind", "status", "exit_code", "created_at")
WIDE = ("signal", "reason", "output_bytes", "truncated", "started_at", "finished_at")
STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled")
FINISHED = frozenset({"succeeded", "failed", "timed_out", "cancelled"})
# a running command's logs without -f: the stored events, up to a quiet stream or the moment asked
IDLE_S = 1.0

Event = tuple[int, str, dict[str, Any]]
CommandId = Annotated[str, typer.Argument(help="The command's id (cmd_...).")]


NOT_FOUND = {EXIT_NOT_FOUND: "`rdev commands list PROJECT` shows a project's commands"}


def _path(command_id: str) -> str:
    from urllib.parse import quote

    return f"/commands/{quote(command_id, safe='')}"


@command(app, "list", "ls")
def list_commands(
    project: Annotated[
        str | None, typer.Argument(help="The project (or --project).", show_default=False)
    ] = None,
    project_option: Annotated[str | None, typer.Option("--project", "-p", help="The project.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", "-s", help=f"Only this status: {'|'.join(STATUSES)}.")
    ] = None,
    limit: Limit = None,
    all_pages: AllPages = False,
) -> None:
    """A project's commands, oldest first (the API lists commands per project)."""
    from urllib.parse import quote

    wanted = project_option or project
    if not wanted:
        raise CliError(
            "which project? the API lists commands per project",
            hint="rdev commands list PROJECT  (`rdev projects list` shows them)",
            exit_code=EXIT_USAGE,
        )
    if status is not None and status not in STATUSES:
        raise CliError(
            f"unknown status {status!r}", hint=f"use one of: {', '.join(STATUSES)}", exit_code=EXIT_USAGE
        )
    with api() as client, hinted({EXIT_NOT_FOUND: NOT_FOUND_HINT}):
        found = client.list(
            f"/projects/{quote(wanted, safe='')}/commands",
            {"status": status},
            limit=limit,
            all_pages=all_pages,
        )
        if not found:  # the API lists nothing for an unknown project: tell it from an empty one
            client.get(f"/projects/{quote(wanted, safe='')}")
    emit(found, COLUMNS, wide=WIDE, name_key="id")


@command(app, "get")
def get_command(command_id: CommandId) -> None:
    """One command: its request, status, exit code or signal, output size and times."""
    with api() as client, hinted(NOT_FOUND):
        emit(client.get(_path(command_id)), COLUMNS, wide=WIDE, name_key="id")


@command(app, "cancel")
def cancel_command(command_id: CommandId) -> None:
    """Cancel a running command: its whole process group is ended (status cancelled)."""
    ended = f"it has already ended: `rdev commands get {command_id}` shows how"
    with api() as client, hinted({**NOT_FOUND, EXIT_CONFLICT: ended}):
        found = client.post(f"{_path(command_id)}/cancel")
    emit(found, COLUMNS, wide=WIDE, name_key="id")
    info(f"cancelling command {command_id}; `rdev commands wait {command_id}` waits for its end")


@command(app, "wait")
def wait_command(
    command_id: CommandId,
    timeout: WaitTimeout = None,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code",
            help="Exit with the command's result (its exit code, 124 timed out, 128+N signal) instead of 0.",
        ),
    ] = False,
) -> None:
    """Wait until the command has finished and print it: exit 0 (or its result with
    --exit-code); exit 8 when --timeout passes first."""
    from rdev_cli.common import wait_until
    from rdev_cli.stream import exit_code_of

    with api() as client, hinted(NOT_FOUND):
        found = wait_until(
            lambda: client.get(_path(command_id)),
            lambda c: c.get("status") in FINISHED,
            timeout=timeout,
            what=f"command {command_id}",
            hint=f"rdev commands wait {command_id}",
        )
    emit(found, COLUMNS, wide=WIDE, name_key="id")
    code = exit_code_of(found) if exit_code else 0
    if code:
        raise typer.Exit(code)


# --- logs ------------------------------------------------------------------------------------


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`--since 10m` (s, m, h, d; also ms) or an RFC 3339 time, as an aware UTC datetime."""
    duration = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", value.strip())
    if duration:
        unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[duration[2]]
        return (now or datetime.now(UTC)) - timedelta(seconds=float(duration[1]) * unit)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CliError(
            f"--since {value!r}: expected a duration (30s, 10m, 2h, 1d) or an RFC 3339 time",
            hint="e.g. --since 10m or --since 2024-05-01T12:00:00Z",
            exit_code=EXIT_USAGE,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ts(data: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(data["ts"]))
    except (KeyError, ValueError):
        return None


def split_lines(text: str) -> list[str]:
    """Lines with their `\\n`; the last one may have none."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]]
    return lines + ([pieces[-1]] if pieces[-1] else [])


@dataclass
class Record:
    """One line of a command's output (or one agent message) for the text renderer."""

    stream: str
    text: str
    ts: str | None


def records_of(events: Iterable[Event]) -> list[Record]:
    """Output chunks joined into lines per stream (a line may span chunks), agent messages as
    one record each: what `--tail N` counts."""
    from rdev_cli.stream import agent_text

    pending: dict[str, Record] = {}  # a line not ended yet, with the time it began
    records: list[Record] = []
    for _, name, data in events:
        ts = data.get("ts")
        if name == "output":
            stream = "stderr" if data.get("stream") == "stderr" else "stdout"
            begun = pending.pop(stream, None)
            lines = split_lines((begun.text if begun else "") + str(data.get("data", "")))
            ends = [begun.ts if begun and i == 0 else ts for i in range(len(lines))]
            if lines and not lines[-1].endswith("\n"):
                pending[stream] = Record(stream, lines.pop(), ends.pop())
            records.extend(Record(stream, line, at) for line, at in zip(lines, ends, strict=True))
        elif name == "agent" and (text := agent_text(data)):
            records.append(Record("stdout", text if text.endswith("\n") else text + "\n", ts))
    return records + list(pending.values())


class Renderer:
    """Remote stdout/stderr to ours; with timestamps, each line starts with its event's time."""

    def __init__(self, timestamps: bool) -> None:
        self.timestamps = timestamps
        self.at_start = {"stdout": True, "stderr": True}

    def write(self, stream: str, text: str, ts: str | None) -> None:
        if self.timestamps:
            parts = []
            for line in split_lines(text):
                if self.at_start[stream]:
                    parts.append(f"{ts or '-'} ")
                parts.append(line)
                self.at_start[stream] = line.endswith("\n")
            text = "".join(parts)
        target = sys.stderr if stream == "stderr" else sys.stdout
        target.write(text)
        target.flush()

    def event(self, seq: int, name: str, data: dict[str, Any]) -> None:
        for record in records_of([(seq, name, data)]) if name in ("output", "agent") else []:
            self.write(record.stream, record.text, record.ts)


def _snapshot_running(
    client: Api, command_id: str, cutoff: datetime | None
) -> tuple[list[Event], dict[str, Any] | None]:
    """The events a running command has so far: read until the stream goes quiet for IDLE_S or
    passes `cutoff` (the server's time when asked), or the `end` comes."""
    import httpx
    from httpx_sse import SSEError, connect_sse

    from rdev_cli.client import error_of
    from rdev_cli.stream import StreamLost

    events: list[Event] = []
    try:
        with connect_sse(
            client.http, "GET", f"{_path(command_id)}/events", timeout=httpx.Timeout(30.0, read=IDLE_S)
        ) as source:
            if source.response.status_code >= 400:
                source.response.read()
                raise error_of(source.response)
            for sse in source.iter_sse():
                if not sse.id:
                    continue
                data = json.loads(sse.data) if sse.data else {}
                moment = _ts(data)
                if cutoff is not None and moment is not None and moment > cutoff:
                    break
                events.append((int(sse.id), sse.event, data))
                if sse.event == "end":
                    return events, data
    except httpx.ReadTimeout:
        pass  # quiet: that is all there is for now
    except (httpx.TransportError, SSEError, ValueError) as err:
        raise StreamLost(command_id, f"{type(err).__name__}: {err}") from None
    return events, None


def _snapshot(client: Api, command_id: str) -> tuple[list[Event], dict[str, Any] | None]:
    """The stored events: to the `end` for a finished command, what exists so far otherwise."""
    from email.utils import parsedate_to_datetime

    from rdev_cli.stream import Follower

    response = client.request("GET", _path(command_id))
    if response.json().get("status") in FINISHED:
        events: list[Event] = []
        end = Follower(client, command_id, lambda seq, name, data: events.append((seq, name, data))).run()
        return events, end
    cutoff = None
    if date := response.headers.get("date"):
        try:
            cutoff = parsedate_to_datetime(date) + timedelta(seconds=1)  # Date has 1 s resolution
        except (TypeError, ValueError):
            cutoff = None
    return _snapshot_running(client, command_id, cutoff)


def _structured(seq: int, name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": seq, "event": name, "data": data}


@command(app, "logs")
def logs(
    command_id: CommandId,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Follow to the end; exit with the remote result.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only output since a duration ago (10m, 2h) or an RFC 3339 time."),
    ] = None,
    tail: Annotated[int | None, typer.Option("--tail", min=0, help="Only the last N lines so far.")] = None,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", "-t", help="Start each line with its time.")
    ] = False,
) -> None:
    """A command's output: remote stdout to stdout, remote stderr to stderr. Without -f: what
    is stored (all of it for a finished command, so far for a running one), exit 0. With -f:
    then follow to the end and exit with the remote result (124 timed out, 128+N signal, 255
    stream lost). -o jsonl prints each event {id, event, data} as a line, -o json a list of
    them; there --tail counts output/agent events and status/end events are always kept."""
    from rdev_cli.stream import Follower, exit_code_of

    cutoff = parse_since(since) if since else None
    mode = OPTIONS.output
    structured = mode in ("json", "yaml", "jsonl")
    renderer = Renderer(timestamps)
    collected: list[dict[str, Any]] = []

    def wanted(data: dict[str, Any]) -> bool:
        moment = _ts(data)
        return cutoff is None or moment is None or moment >= cutoff

    def show(seq: int, name: str, data: dict[str, Any]) -> None:
        if name in ("output", "agent") and not wanted(data):
            return
        if mode == "jsonl":
            write(json.dumps(_structured(seq, name, data), ensure_ascii=False))
        elif structured:
            collected.append(_structured(seq, name, data))
        else:
            renderer.event(seq, name, data)

    with api() as client, hinted(NOT_FOUND):
        if follow and tail is None:
            end: dict[str, Any] | None = Follower(client, command_id, show).run()
        else:
            events, end = _snapshot(client, command_id)
            _show_tail(events, tail, wanted, show, renderer, structured)
            if follow and end is None:
                after = events[-1][0] if events else 0
                end = Follower(client, command_id, show, after=after).run()
    if structured and mode != "jsonl":
        emit(collected, ())
    if follow and end is not None:
        code = exit_code_of(end)
        if code:
            raise typer.Exit(code)


def _show_tail(
    events: list[Event], tail: int | None, wanted: Any, show: Any, renderer: Renderer, structured: bool
) -> None:
    """Print the snapshot: in text mode the last `tail` lines, in structured modes the last
    `tail` output/agent events (status and end events kept)."""
    kept = [e for e in events if e[1] not in ("output", "agent") or wanted(e[2])]
    if structured:
        if tail is not None:
            content = [i for i, e in enumerate(kept) if e[1] in ("output", "agent")]
            dropped = set(content[: max(0, len(content) - tail)])
            kept = [e for i, e in enumerate(kept) if i not in dropped]
        for event in kept:
            show(*event)
        return
    records = records_of(kept)
    if tail is not None:
        records = records[len(records) - tail :] if tail else []
    for record in records:
        renderer.write(record.stream, record.text, record.ts)
