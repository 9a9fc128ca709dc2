"""The audit trail: one row per mutation (ts, key id, action, target, request id, client ip)."""

from __future__ import annotations

from typing import Any

from rdev_api.ports.clock import Clock
from rdev_api.ports.stores import AuditStore


class Auditor:
    def __init__(self, store: AuditStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(
        self,
        key_id: str | None,
        action: str,
        target: str | None,
        request_id: str | None,
        client_ip: str | None,
    ) -> None:
        self.store.record_many(self.clock.now(), key_id, action, [target], request_id, client_ip)

    def record_many(
        self,
        key_id: str | None,
        action: str,
        targets: list[str | None],
        request_id: str | None,
        client_ip: str | None,
    ) -> None:
        """One row per target (a batch), written together."""
        self.store.record_many(self.clock.now(), key_id, action, targets, request_id, client_ip)

    def list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self.store.list(limit, cursor)
