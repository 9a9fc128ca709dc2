"""The work queue on SQLite (the WorkStore port). Every state change is one BEGIN IMMEDIATE
transaction, so a claim can never hand the same item to two workers, even across processes."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from rdev_api.adapters.sqlite.database import Database, time_ordered_page
from rdev_api.domain.errors import Conflict, NotFound
from rdev_api.domain.work import FINISHED, STATUSES, after_failure, after_lease_expiry, require_status

_COLUMNS = (
    "id, type, project_id, payload, status, priority, attempts, max_attempts, run_after,"
    " lease_expires_at, worker_id, result, last_error, started_at, finished_at, created_at, updated_at"
)
_UNAVAILABLE_WORKER = ("draining", "gone")


def ts(value: datetime) -> str:
    """Fixed-width RFC 3339 UTC text: it sorts like the instants it names."""
    if value.utcoffset() != ZERO:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"  # strftime: 3x slower


ZERO = timedelta(0)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _item(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "type": row["type"],
        "project": row["project_id"],
        "payload": json.loads(row["payload"]),
        "status": row["status"],
        "priority": row["priority"],
        "attempts": row["attempts"],
        "max_attempts": row["max_attempts"],
        "run_after": _dt(row["run_after"]),
        "lease_expires_at": _dt(row["lease_expires_at"]),
        "worker_id": row["worker_id"],
        "result": json.loads(row["result"]) if row["result"] is not None else None,
        "last_error": row["last_error"],
        "started_at": _dt(row["started_at"]),
        "finished_at": _dt(row["finished_at"]),
        "created_at": _dt(row["created_at"]),
        "updated_at": _dt(row["updated_at"]),
    }


def _placeholders(values: list[Any]) -> str:
    return ", ".join("?" * len(values))


class SqliteWorkStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def unit_of_work(self) -> AbstractContextManager[Any]:
        return self.db.write()

    def after_commit(self, then: Callable[[], None]) -> None:
        self.db.after_commit(then)

    def insert(self, item: dict[str, Any]) -> dict[str, Any]:
        return self.insert_many([item])[0]

    def insert_many(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """All the items or none (one transaction), in order."""
        rows = []
        try:
            with self.db.write() as connection:
                for item in items:
                    rows += connection.execute(
                        f"INSERT INTO work_items ({_COLUMNS}) VALUES"
                        " (?, ?, ?, ?, 'queued', ?, 0, ?, ?, NULL, NULL, NULL, NULL, NULL, NULL, ?, ?)"
                        f" RETURNING {_COLUMNS}",
                        (
                            item["id"],
                            item["type"],
                            item["project"],
                            json.dumps(item["payload"]),
                            item["priority"],
                            item["max_attempts"],
                            ts(item["run_after"]),
                            ts(item["created_at"]),
                            ts(item["created_at"]),
                        ),
                    ).fetchall()
        except sqlite3.IntegrityError as err:
            missing = sorted({i["project"] for i in items if i["project"] is not None})
            if missing and "FOREIGN KEY" in str(err):
                raise NotFound(f"no project {' or '.join(missing)}") from err
            raise
        return [_item(row) for row in rows]

    def get(self, item_id: str) -> dict[str, Any] | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_COLUMNS} FROM work_items WHERE id = ?", (item_id,))
            .fetchone()
        )
        return _item(row) if row else None

    def list_items(
        self,
        status: str | None,
        type_: str | None,
        projects: list[str] | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if type_ is not None:
            clauses.append("type = ?")
            params.append(type_)
        if projects is not None:
            clauses.append(f"project_id IN ({_placeholders(projects)})")
            params += projects
        select = f"SELECT {_COLUMNS} FROM work_items"
        found, next_cursor = time_ordered_page(self.db.connection(), select, clauses, params, limit, cursor)
        return [_item(r) for r in found], next_cursor

    def claim(
        self, worker_id: str, types: list[str], lease_s: float, now: datetime, projects: list[str] | None
    ) -> dict[str, Any] | None:
        at = ts(now)
        scope = f" AND project_id IN ({_placeholders(projects)})" if projects is not None else ""
        if not self._claimable(types, at, projects):
            return None  # an idle poll takes no write lock
        with self.db.write() as connection:
            worker = connection.execute("SELECT status FROM workers WHERE id = ?", (worker_id,)).fetchone()
            if worker is not None:
                connection.execute("UPDATE workers SET last_seen_at = ? WHERE id = ?", (at, worker_id))
                if worker["status"] in _UNAVAILABLE_WORKER:
                    return None
            rows = connection.execute(
                "UPDATE work_items SET status = 'running', attempts = attempts + 1, worker_id = ?,"
                " lease_expires_at = ?, started_at = ?, updated_at = ?"
                " WHERE id = (SELECT id FROM work_items"
                f"  WHERE status = 'queued' AND type IN ({_placeholders(types)}) AND run_after <= ?{scope}"
                "  ORDER BY priority DESC, run_after, created_at LIMIT 1)"  # the work_claimable index order
                f" RETURNING {_COLUMNS}",
                (worker_id, ts(now + timedelta(seconds=lease_s)), at, at, *types, at, *(projects or [])),
            ).fetchall()
        return _item(rows[0]) if rows else None

    def _claimable(self, types: list[str], at: str, projects: list[str] | None) -> bool:
        """Whether a claim could find an item now (a hint read outside the write lock; the
        claim itself decides)."""
        scope = f" AND project_id IN ({_placeholders(projects)})" if projects is not None else ""
        row = (
            self.db.connection()
            .execute(
                "SELECT 1 FROM work_items WHERE status = 'queued'"
                f" AND type IN ({_placeholders(types)}) AND run_after <= ?{scope} LIMIT 1",
                (*types, at, *(projects or [])),
            )
            .fetchone()
        )
        return row is not None

    def _held(self, connection: sqlite3.Connection, item_id: str, worker_id: str | None) -> sqlite3.Row:
        """The row of a running item held by `worker_id` (any holder when None)."""
        row: sqlite3.Row | None = connection.execute(
            f"SELECT {_COLUMNS} FROM work_items WHERE id = ?", (item_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"no work item {item_id}")
        if row["status"] != "running":
            raise Conflict(f"work item {item_id} is {row['status']}, not running: its lease is lost")
        if worker_id is not None and row["worker_id"] != worker_id:
            raise Conflict(f"work item {item_id} is leased to another worker, not {worker_id}")
        return row

    def heartbeat(self, item_id: str, worker_id: str | None, lease_s: float, now: datetime) -> dict[str, Any]:
        with self.db.write() as connection:
            self._held(connection, item_id, worker_id)
            row = connection.execute(
                "UPDATE work_items SET lease_expires_at = ?, updated_at = ?"
                f" WHERE id = ? RETURNING {_COLUMNS}",
                (ts(now + timedelta(seconds=lease_s)), ts(now), item_id),
            ).fetchall()[0]
        return _item(row)

    def complete(self, item_id: str, worker_id: str | None, result: Any, now: datetime) -> dict[str, Any]:
        at = ts(now)
        with self.db.write() as connection:
            self._held(connection, item_id, worker_id)
            row = connection.execute(
                "UPDATE work_items SET status = 'succeeded', result = ?, lease_expires_at = NULL,"
                f" finished_at = ?, updated_at = ? WHERE id = ? RETURNING {_COLUMNS}",
                (None if result is None else json.dumps(result), at, at, item_id),
            ).fetchall()[0]
        return _item(row)

    def fail(
        self, item_id: str, worker_id: str | None, error: str, retryable: bool, now: datetime
    ) -> dict[str, Any]:
        at = ts(now)
        with self.db.write() as connection:
            held = self._held(connection, item_id, worker_id)
            outcome = after_failure(held["attempts"], held["max_attempts"], retryable, now)
            row = connection.execute(
                "UPDATE work_items SET status = ?, last_error = ?, lease_expires_at = NULL,"
                " worker_id = CASE WHEN ? = 'queued' THEN NULL ELSE worker_id END,"
                " run_after = COALESCE(?, run_after), finished_at = ?, updated_at = ?"
                f" WHERE id = ? RETURNING {_COLUMNS}",
                (
                    outcome.status,
                    error,
                    outcome.status,
                    ts(outcome.run_after) if outcome.run_after else None,
                    None if outcome.status == "queued" else at,
                    at,
                    item_id,
                ),
            ).fetchall()[0]
        return _item(row)

    def _change(
        self, item_id: str, allowed: set[str], action: str, sql: str, params: tuple[Any, ...]
    ) -> dict[str, Any]:
        with self.db.write() as connection:
            row = connection.execute(f"SELECT {_COLUMNS} FROM work_items WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise NotFound(f"no work item {item_id}")
            require_status(dict(row), allowed, action)
            changed = connection.execute(
                f"UPDATE work_items SET {sql} WHERE id = ? RETURNING {_COLUMNS}", (*params, item_id)
            ).fetchall()[0]
        return _item(changed)

    def cancel(self, item_id: str, now: datetime) -> dict[str, Any]:
        """Queued or running items only; a worker still running it loses its lease."""
        at = ts(now)
        return self._change(
            item_id,
            {"queued", "running"},
            "cancel",
            "status = 'cancelled', lease_expires_at = NULL, finished_at = ?, updated_at = ?",
            (at, at),
        )

    def retry(self, item_id: str, now: datetime) -> dict[str, Any]:
        """A failed or dead item back in the queue with its attempts reset."""
        at = ts(now)
        return self._change(
            item_id,
            {"failed", "dead"},
            "retry",
            "status = 'queued', attempts = 0, run_after = ?, worker_id = NULL, lease_expires_at = NULL,"
            " result = NULL, started_at = NULL, finished_at = NULL, updated_at = ?",
            (at, at),
        )

    def reap(self, now: datetime) -> list[dict[str, Any]]:
        at = ts(now)
        reaped = []
        with self.db.write() as connection:
            expired = connection.execute(
                "SELECT id, attempts, max_attempts FROM work_items"
                " WHERE status = 'running' AND lease_expires_at < ?",
                (at,),
            ).fetchall()
            for row in expired:
                outcome = after_lease_expiry(row["attempts"], row["max_attempts"], now)
                reaped += connection.execute(
                    "UPDATE work_items SET status = ?, worker_id = NULL, lease_expires_at = NULL,"
                    " last_error = 'lease expired', run_after = COALESCE(?, run_after),"
                    f" finished_at = ?, updated_at = ? WHERE id = ? RETURNING {_COLUMNS}",
                    (
                        outcome.status,
                        ts(outcome.run_after) if outcome.run_after else None,
                        None if outcome.status == "queued" else at,
                        at,
                        row["id"],
                    ),
                ).fetchall()
        return [_item(r) for r in reaped]

    def stats(self, now: datetime, window_s: float) -> dict[str, Any]:
        """Counts by status and type, the oldest queued item's age, and what finished within the
        last `window_s` seconds: how many, mean and p95 run time."""
        connection = self.db.connection()
        by_status = dict.fromkeys(STATUSES, 0)
        by_type: dict[str, dict[str, int]] = {}
        for row in connection.execute(
            "SELECT status, type, COUNT(*) AS n FROM work_items GROUP BY status, type"
        ):
            by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
            by_type.setdefault(row["type"], dict.fromkeys(STATUSES, 0))[row["status"]] = row["n"]
        oldest = connection.execute(
            "SELECT MIN(created_at) FROM work_items WHERE status = 'queued'"
        ).fetchone()[0]
        since = ts(now - timedelta(seconds=window_s))
        # run times in SQL: the stats are polled, and the window can hold thousands of items
        window = f"FROM work_items WHERE finished_at >= ? AND status IN ({_placeholders(sorted(FINISHED))})"
        params = (since, *sorted(FINISHED))
        run_time = "(julianday(finished_at) - julianday(started_at)) * 86400.0"
        count, timed, mean = connection.execute(
            f"SELECT COUNT(*), COUNT(started_at), AVG({run_time}) {window}", params
        ).fetchone()
        p95 = None
        if timed:
            p95 = connection.execute(
                f"SELECT {run_time} {window} AND started_at IS NOT NULL ORDER BY 1 LIMIT 1 OFFSET ?",
                (*params, max(math.ceil(0.95 * timed) - 1, 0)),
            ).fetchone()[0]
        return {
            "by_status": by_status,
            "by_type": by_type,
            "oldest_queued_age_s": (now - datetime.fromisoformat(oldest)).total_seconds() if oldest else None,
            "window_s": window_s,
            "finished_in_window": count,
            "run_time_mean_s": round(mean, 6) if mean is not None else None,
            "run_time_p95_s": round(p95, 6) if p95 is not None else None,
        }
