"""Events posted by projects' `sdlc` on SQLite: one row per (project, event id); a repeat of a
stored event is dropped (delivery is at-least-once)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rdev_api.adapters.sqlite.database import Database, decode_cursor, encode_cursor, page
from rdev_api.domain.timestamps import rfc3339


class SqliteSdlcEventStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def insert_new(
        self, project_id: str, events: list[dict[str, Any]], received_at: datetime
    ) -> list[dict[str, Any]]:
        """Store `events` (each {id, type, feature, data}); the ones not stored before."""
        at = rfc3339(received_at)
        fresh = []
        with self.db.write() as connection:
            for event in events:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO sdlc_events"
                    " (project_id, event_id, type, feature, data, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        project_id,
                        event["id"],
                        event["type"],
                        event.get("feature"),
                        json.dumps(event, ensure_ascii=False),
                        at,
                    ),
                )
                if cursor.rowcount == 1:
                    fresh.append(event)
        return fresh

    def list(
        self, project_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The project's stored events by event id: each as posted, plus `received_at`."""
        after = int(decode_cursor(cursor, 1)[0]) if cursor else 0
        rows = (
            self.db.connection()
            .execute(
                "SELECT event_id, data, received_at FROM sdlc_events"
                " WHERE project_id = ? AND event_id > ? ORDER BY event_id LIMIT ?",
                (project_id, after, limit + 1),
            )
            .fetchall()
        )
        found, next_cursor = page(rows, limit, lambda r: encode_cursor(r["event_id"]))
        return [{**json.loads(r["data"]), "received_at": r["received_at"]} for r in found], next_cursor
