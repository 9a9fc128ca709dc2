"""Webhooks, their deliveries and every delivery attempt on SQLite (the WebhookStore port). A
delivery is a row before it is sent, so pending deliveries survive a restart."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from rdev_api.adapters.sqlite.database import Database, decode_cursor, encode_cursor, page, time_ordered_page
from rdev_api.domain.timestamps import rfc3339_or_none
from rdev_api.domain.webhooks import Delivery, DeliveryAttempt, Webhook

_WEBHOOK = "id, url, events, active, description, created_at, updated_at"
_DELIVERY = (
    "id, webhook_id, event, payload, status, attempts, next_attempt_at, last_status, last_error,"
    " created_at, delivered_at"
)


def _webhook(row: sqlite3.Row) -> Webhook:
    return Webhook(
        id=row["id"],
        url=row["url"],
        events=json.loads(row["events"]),
        active=bool(row["active"]),
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _delivery(row: sqlite3.Row, attempts: list[DeliveryAttempt] | None = None) -> Delivery:
    return Delivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event=row["event"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
        attempt_log=attempts or [],
    )


class SqliteWebhookStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def after_commit(self, then: Callable[[], None]) -> None:
        self.db.after_commit(then)

    def insert_webhook(self, webhook: Webhook, sealed_secret: bytes) -> None:
        with self.db.write() as connection:
            connection.execute(
                f"INSERT INTO webhooks ({_WEBHOOK}, secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    webhook.id,
                    webhook.url,
                    json.dumps(webhook.events),
                    int(webhook.active),
                    webhook.description,
                    rfc3339_or_none(webhook.created_at),
                    rfc3339_or_none(webhook.updated_at),
                    sealed_secret,
                ),
            )

    def get_webhook(self, webhook_id: str) -> tuple[Webhook, bytes] | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_WEBHOOK}, secret FROM webhooks WHERE id = ?", (webhook_id,))
            .fetchone()
        )
        return (_webhook(row), bytes(row["secret"])) if row else None

    def list_webhooks(self, limit: int, cursor: str | None) -> tuple[list[Webhook], str | None]:
        select = f"SELECT {_WEBHOOK} FROM webhooks"
        found, next_cursor = time_ordered_page(self.db.connection(), select, [], [], limit, cursor)
        return [_webhook(r) for r in found], next_cursor

    def active_webhooks(self) -> list[Webhook]:
        rows = (
            self.db.connection()
            .execute(f"SELECT {_WEBHOOK} FROM webhooks WHERE active = 1 ORDER BY created_at, id")
            .fetchall()
        )
        return [_webhook(r) for r in rows]

    def update_webhook(self, webhook: Webhook) -> None:
        with self.db.write() as connection:
            connection.execute(
                "UPDATE webhooks SET url = ?, events = ?, active = ?, description = ?, updated_at = ?"
                " WHERE id = ?",
                (
                    webhook.url,
                    json.dumps(webhook.events),
                    int(webhook.active),
                    webhook.description,
                    rfc3339_or_none(webhook.updated_at),
                    webhook.id,
                ),
            )

    def delete_webhook(self, webhook_id: str) -> None:
        with self.db.write() as connection:
            connection.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))

    def insert_deliveries(self, deliveries: list[Delivery]) -> None:
        # A webhook deleted meanwhile gets no delivery (and the insert does not fail on its key).
        with self.db.write() as connection:
            for d in deliveries:
                connection.execute(
                    f"INSERT INTO webhook_deliveries ({_DELIVERY})"
                    " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                    " WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)",
                    (
                        d.id,
                        d.webhook_id,
                        d.event,
                        json.dumps(d.payload),
                        d.status,
                        d.attempts,
                        rfc3339_or_none(d.next_attempt_at),
                        d.last_status,
                        d.last_error,
                        rfc3339_or_none(d.created_at),
                        rfc3339_or_none(d.delivered_at),
                        d.webhook_id,
                    ),
                )

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        row = (
            self.db.connection()
            .execute(f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE id = ?", (delivery_id,))
            .fetchone()
        )
        return _delivery(row, self._attempts([delivery_id])[delivery_id]) if row else None

    def list_deliveries(
        self, webhook_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Delivery], str | None]:
        query, params = f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE webhook_id = ?", [webhook_id]
        if cursor:
            created_at, delivery_id = decode_cursor(cursor, 2)
            query += " AND (created_at, id) < (?, ?)"
            params += [created_at, delivery_id]
        rows = (
            self.db.connection()
            .execute(query + " ORDER BY created_at DESC, id DESC LIMIT ?", (*params, limit + 1))
            .fetchall()
        )
        found, next_cursor = page(rows, limit, lambda r: encode_cursor(r["created_at"], r["id"]))
        attempts = self._attempts([r["id"] for r in found])
        return [_delivery(r, attempts[r["id"]]) for r in found], next_cursor

    def due_deliveries(self, now: datetime, limit: int) -> list[tuple[Delivery, str, bytes]]:
        rows = (
            self.db.connection()
            .execute(
                f"SELECT {', '.join('d.' + c.strip() for c in _DELIVERY.split(','))}, w.url, w.secret"
                " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
                " WHERE d.status = 'pending' AND w.active = 1 AND d.next_attempt_at <= ?"
                " ORDER BY d.next_attempt_at, d.id LIMIT ?",
                (rfc3339_or_none(now), limit),
            )
            .fetchall()
        )
        return [(_delivery(r), r["url"], bytes(r["secret"])) for r in rows]

    def next_due_at(self) -> datetime | None:
        row = (
            self.db.connection()
            .execute(
                "SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d"
                " JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'pending' AND w.active = 1"
            )
            .fetchone()
        )
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    def record_attempt(self, delivery: Delivery, attempt: DeliveryAttempt) -> None:
        with self.db.write() as connection:
            still_there = connection.execute(
                "SELECT 1 FROM webhook_deliveries WHERE id = ?", (delivery.id,)
            ).fetchone()
            if still_there is None:  # its webhook was deleted while the attempt was in flight
                return
            connection.execute(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    delivery.id,
                    attempt.attempt,
                    rfc3339_or_none(attempt.at),
                    attempt.status_code,
                    attempt.error,
                    attempt.duration_ms,
                ),
            )
            connection.execute(
                "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,"
                " last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?",
                (
                    delivery.status,
                    delivery.attempts,
                    rfc3339_or_none(delivery.next_attempt_at),
                    delivery.last_status,
                    delivery.last_error,
                    rfc3339_or_none(delivery.delivered_at),
                    delivery.id,
                ),
            )

    def _attempts(self, delivery_ids: list[str]) -> dict[str, list[DeliveryAttempt]]:
        found: dict[str, list[DeliveryAttempt]] = defaultdict(list)
        if not delivery_ids:
            return found
        marks = ", ".join("?" for _ in delivery_ids)
        rows = (
            self.db.connection()
            .execute(
                "SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM delivery_attempts"
                f" WHERE delivery_id IN ({marks}) ORDER BY delivery_id, attempt",
                delivery_ids,
            )
            .fetchall()
        )
        for r in rows:
            found[r["delivery_id"]].append(
                DeliveryAttempt(
                    attempt=r["attempt"],
                    at=r["at"],
                    status_code=r["status_code"],
                    error=r["error"],
                    duration_ms=r["duration_ms"],
                )
            )
        return found
