"""The worker registry on SQLite (the WorkerStore port): who claims work, of which types, and
whether it is active, draining (claims nothing new) or gone."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from rdev_api.adapters.sqlite.database import Database, time_ordered_page
from rdev_api.adapters.sqlite.work import ts

_COLUMNS = "id, name, types, embedded, status, last_seen_at, registered_at"


def _worker(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "types": json.loads(row["types"]),
        "embedded": bool(row["embedded"]),
        "status": row["status"],
        "last_seen_at": datetime.fromisoformat(row["last_seen_at"]),
        "registered_at": datetime.fromisoformat(row["registered_at"]),
    }


class SqliteWorkerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def register(
        self, worker_id: str, name: str | None, types: list[str], embedded: bool, now: datetime
    ) -> dict[str, Any]:
        at = ts(now)
        with self.db.write() as connection:
            row = connection.execute(
                f"INSERT INTO workers ({_COLUMNS}) VALUES (?, ?, ?, ?, 'active', ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name, types = excluded.types,"
                " embedded = excluded.embedded, status = 'active', last_seen_at = excluded.last_seen_at"
                f" RETURNING {_COLUMNS}",
                (worker_id, name, json.dumps(types), int(embedded), at, at),
            ).fetchall()[0]
        return _worker(row)

    def get(self, worker_id: str) -> dict[str, Any] | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_COLUMNS} FROM workers WHERE id = ?", (worker_id,))
            .fetchone()
        )
        return _worker(row) if row else None

    def list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        found, next_cursor = time_ordered_page(
            self.db.connection(), f"SELECT {_COLUMNS} FROM workers", [], [], limit, cursor, "registered_at"
        )
        return [_worker(r) for r in found], next_cursor

    def set_status(self, worker_id: str, status: str | None, now: datetime) -> dict[str, Any] | None:
        with self.db.write() as connection:
            rows = connection.execute(
                "UPDATE workers SET status = COALESCE(?, status), last_seen_at = ?"
                f" WHERE id = ? RETURNING {_COLUMNS}",
                (status, ts(now), worker_id),
            ).fetchall()
        return _worker(rows[0]) if rows else None

    def remove(self, worker_id: str) -> bool:
        with self.db.write() as connection:
            return connection.execute("DELETE FROM workers WHERE id = ?", (worker_id,)).rowcount > 0
