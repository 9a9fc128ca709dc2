"""The audit trail on SQLite (the AuditStore port): one row per mutation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rdev_api.adapters.sqlite.database import Database, decode_cursor, encode_cursor, page
from rdev_api.domain.timestamps import rfc3339


class SqliteAuditStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record_many(
        self,
        ts: datetime,
        key_id: str | None,
        action: str,
        targets: list[str | None],
        request_id: str | None,
        client_ip: str | None,
    ) -> None:
        """One row per target, in one transaction."""
        at = rfc3339(ts)
        with self.db.write() as connection:
            connection.executemany(
                "INSERT INTO audit (ts, key_id, action, target, request_id, client_ip)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(at, key_id, action, target, request_id, client_ip) for target in targets],
            )

    def list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        after = int(decode_cursor(cursor, 1)[0]) if cursor else 0
        rows = (
            self.db.connection()
            .execute(
                "SELECT id, ts, key_id, action, target, request_id, client_ip FROM audit"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit + 1),
            )
            .fetchall()
        )
        found, next_cursor = page(rows, limit, lambda r: encode_cursor(r["id"]))
        return [dict(r) for r in found], next_cursor
