"""Persistence ports. The local edition implements them on SQLite; PostgreSQL comes later."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from rdev_api.domain.keys import ApiKey


class KeyStore(Protocol):
    def insert(self, key: ApiKey, secret_hash: str) -> None: ...

    def get(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key and its secret hash, or None."""
        ...

    def list(self, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]: ...

    def revoke(self, key_id: str, at: datetime) -> None: ...

    def replace_secret(self, key_id: str, secret_hash: str) -> None: ...

    def touch(self, key_id: str, at: datetime) -> None: ...


class AuditStore(Protocol):
    def record(
        self,
        ts: datetime,
        key_id: str | None,
        action: str,
        target: str | None,
        request_id: str | None,
        client_ip: str | None,
    ) -> None: ...

    def list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
