"""Commands and their event stream on SQLite: one row per command, one row per event with a
per-command sequence number (the SSE `id:`), appended in one transaction each."""

from __future__ import annotations

import builtins
import json
import sqlite3
from datetime import datetime
from typing import Any

from rdev_api.adapters.sqlite.database import Database, time_ordered_page
from rdev_api.domain.errors import NotFound
from rdev_api.domain.timestamps import rfc3339_or_none

Event = tuple[str, dict[str, Any]]  # event name, data

_COLUMNS = (
    "id, project_id, kind, request, status, exit_code, signal, reason, pgid, output_bytes, truncated,"
    " next_seq, created_at, started_at, finished_at"
)


def _only(cursor: sqlite3.Cursor, command_id: str) -> sqlite3.Row:
    """The one row a statement RETURNING the command's row gives (read to the end, so the
    statement is done before the transaction commits)."""
    rows = cursor.fetchall()
    if not rows:
        raise NotFound(f"no command {command_id}")
    found: sqlite3.Row = rows[0]
    return found


def _command(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["request"] = json.loads(data["request"])
    data["truncated"] = bool(data["truncated"])
    data.pop("next_seq")
    data.pop("pgid")
    return data


class SqliteCommandStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert(
        self, command_id: str, project_id: str, kind: str, request: dict[str, Any], at: datetime
    ) -> dict[str, Any]:
        """The new command, queued; returns its record."""
        with self.db.write() as connection:
            cursor = connection.execute(
                "INSERT INTO commands (id, project_id, kind, request, status, created_at)"
                f" VALUES (?, ?, ?, ?, 'queued', ?) RETURNING {_COLUMNS}",
                (command_id, project_id, kind, json.dumps(request), rfc3339_or_none(at)),
            )
            row = _only(cursor, command_id)
        return _command(row)

    def release(self) -> None:
        """The calling thread is done with the store."""
        self.db.release()

    def get(self, command_id: str) -> dict[str, Any] | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_COLUMNS} FROM commands WHERE id = ?", (command_id,))
            .fetchone()
        )
        return _command(row) if row else None

    def list(
        self, project_id: str | None, status: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        clauses, params = [], []
        if project_id is not None:
            clauses.append("project_id = ?")
            params.append(project_id)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        select = f"SELECT {_COLUMNS} FROM commands"
        found, next_cursor = time_ordered_page(self.db.connection(), select, clauses, params, limit, cursor)
        return [_command(r) for r in found], next_cursor

    def started(
        self, command_id: str, pgid: int | None, at: datetime, events: builtins.list[Event] | None = None
    ) -> None:
        """Running, with `events` appended in the same transaction."""
        events, stamp = events or [], rfc3339_or_none(at)
        with self.db.write() as connection:
            cursor = connection.execute(
                "UPDATE commands SET status = 'running', pgid = ?, started_at = ?,"
                " next_seq = next_seq + ? WHERE id = ? RETURNING next_seq",
                (pgid, stamp, len(events), command_id),
            )
            row = _only(cursor, command_id)
            self._insert_events(connection, command_id, events, stamp, row["next_seq"] - len(events))

    def append(self, command_id: str, events: builtins.list[Event], at: datetime, output_bytes: int) -> int:
        """Append events with the next sequence numbers; returns the last one."""
        with self.db.write() as connection:
            cursor = connection.execute(
                "UPDATE commands SET next_seq = next_seq + ?, output_bytes = output_bytes + ?"
                " WHERE id = ? RETURNING next_seq",
                (len(events), output_bytes, command_id),
            )
            row = _only(cursor, command_id)
            first = row["next_seq"] - len(events)
            self._insert_events(connection, command_id, events, rfc3339_or_none(at), first)
            return int(first + len(events) - 1)

    @staticmethod
    def _insert_events(
        connection: sqlite3.Connection,
        command_id: str,
        events: builtins.list[Event],
        created_at: str | None,
        first: int,
    ) -> None:
        """`events` numbered from `first` (the caller has moved next_seq past them)."""
        if events:
            connection.executemany(
                "INSERT INTO command_events (command_id, seq, event, data, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (command_id, first + i, event, json.dumps(data, ensure_ascii=False), created_at)
                    for i, (event, data) in enumerate(events)
                ],
            )

    def mark_truncated(self, command_id: str) -> None:
        with self.db.write() as connection:
            connection.execute("UPDATE commands SET truncated = 1 WHERE id = ?", (command_id,))

    def finish(
        self,
        command_id: str,
        status: str,
        exit_code: int | None,
        signal: int | None,
        reason: str | None,
        at: datetime,
        events: builtins.list[Event] | None = None,
    ) -> dict[str, Any]:
        """Finished, with `events` (the last ones) appended in the same transaction; returns
        the finished record."""
        events, stamp = events or [], rfc3339_or_none(at)
        with self.db.write() as connection:
            cursor = connection.execute(
                "UPDATE commands SET status = ?, exit_code = ?, signal = ?, reason = ?, pgid = NULL,"
                f" finished_at = ?, next_seq = next_seq + ? WHERE id = ? RETURNING {_COLUMNS}",
                (status, exit_code, signal, reason, stamp, len(events), command_id),
            )
            row = _only(cursor, command_id)
            self._insert_events(connection, command_id, events, stamp, row["next_seq"] - len(events))
        return _command(row)

    def events_after(
        self, command_id: str, after_seq: int, limit: int = 500
    ) -> builtins.list[tuple[int, str, str]]:
        """(seq, event, data JSON text) of the events after `after_seq`, in order; the data
        carries `ts`, the time the event was stored (for `rdev commands logs --since/--timestamps`)."""
        rows = (
            self.db.connection()
            .execute(
                "SELECT seq, event, json_set(data, '$.ts', created_at) AS data FROM command_events"
                " WHERE command_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (command_id, after_seq, limit),
            )
            .fetchall()
        )
        return [(int(r["seq"]), r["event"], r["data"]) for r in rows]
