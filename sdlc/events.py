"""`.sdlc/events.jsonl`: one line per mutation with a per-project id (spec/sdlc.md §7).

It is the audit trail, the source of `history` and the callback spool. Appends happen inside
the project lock, as one durable write."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sdlc.atomic import append_durable

_TAIL_BLOCK = 64 * 1024


def parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("id"), int) else None


def reverse_lines(path: Path) -> Iterator[bytes]:
    """The file's lines from last to first, read in blocks from the end."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in finally
    except FileNotFoundError:
        return
    try:
        position = handle.seek(0, os.SEEK_END)
        rest = b""
        while position > 0:
            step = min(_TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + rest
            lines = chunk.split(b"\n")
            rest = lines[0]
            for line in reversed(lines[1:]):
                if line.strip():
                    yield line
        if rest.strip():
            yield rest
    finally:
        handle.close()


def last_event_id(path: Path) -> int:
    for line in reverse_lines(path):
        event = parse_line(line)
        if event is not None:
            return int(event["id"])
    return 0


def number_events(path: Path, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give `events` (each {ts, actor, feature?, type, data}) the next ids of the log.
    The caller holds the project lock."""
    first = last_event_id(path) + 1
    return [{"id": first + offset, **event} for offset, event in enumerate(events)]


def append_numbered(path: Path, events: list[dict[str, Any]]) -> None:
    """Append the numbered `events` that the log does not hold yet, in one durable write."""
    last = last_event_id(path)
    lines = [json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in events if e["id"] > last]
    if lines:
        append_durable(path, ("\n".join(lines) + "\n").encode())


def read_events(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Every parseable event in order, and the number of lines that did not parse."""
    events, bad = [], 0
    try:
        with open(path, "rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                event = parse_line(line)
                if event is None:
                    bad += 1
                else:
                    events.append(event)
    except FileNotFoundError:
        pass
    return events, bad


def recent_events(path: Path, limit: int, feature: str | None = None) -> list[dict[str, Any]]:
    """The last `limit` events (of `feature` when given), oldest first."""
    found: list[dict[str, Any]] = []
    for line in reverse_lines(path):
        if len(found) >= limit:
            break
        event = parse_line(line)
        if event is not None and (feature is None or event.get("feature") == feature):
            found.append(event)
    found.reverse()
    return found
