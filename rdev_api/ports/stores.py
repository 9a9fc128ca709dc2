"""Persistence ports. The local edition implements them on SQLite; PostgreSQL comes later."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from rdev_api.domain.credentials import Credential
from rdev_api.domain.keys import ApiKey
from rdev_api.domain.projects import Project, ProjectStatus
from rdev_api.domain.webhooks import Delivery, DeliveryAttempt, Webhook


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
    def record_many(
        self,
        ts: datetime,
        key_id: str | None,
        action: str,
        targets: list[str | None],
        request_id: str | None,
        client_ip: str | None,
    ) -> None: ...

    def list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...


class WebhookStore(Protocol):
    def insert_webhook(self, webhook: Webhook, sealed_secret: bytes) -> None: ...

    def get_webhook(self, webhook_id: str) -> tuple[Webhook, bytes] | None:
        """The webhook and its sealed secret, or None."""
        ...

    def list_webhooks(self, limit: int, cursor: str | None) -> tuple[list[Webhook], str | None]: ...

    def active_webhooks(self) -> list[Webhook]: ...

    def update_webhook(self, webhook: Webhook) -> None: ...

    def delete_webhook(self, webhook_id: str) -> None:
        """The webhook and its deliveries."""
        ...

    def insert_deliveries(self, deliveries: list[Delivery]) -> None:
        """All or none, in one transaction, each stored before anything is sent."""
        ...

    def after_commit(self, then: Callable[[], None]) -> None:
        """`then()` once the current transaction has committed (now when there is none)."""
        ...

    def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    def list_deliveries(
        self, webhook_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Delivery], str | None]:
        """Newest first, each with its attempts."""
        ...

    def due_deliveries(self, now: datetime, limit: int) -> list[tuple[Delivery, str, bytes]]:
        """Pending deliveries of active webhooks whose time has come, oldest first, with the
        webhook's URL and sealed secret."""
        ...

    def next_due_at(self) -> datetime | None:
        """When the earliest pending delivery of an active webhook is due."""
        ...

    def record_attempt(self, delivery: Delivery, attempt: DeliveryAttempt) -> None:
        """The attempt and the delivery's new state, in one transaction."""
        ...


class CredentialStore(Protocol):
    def put(self, credential: Credential, sealed: bytes) -> Credential:
        """Create or replace the value (created_at kept on replace); the stored record."""
        ...

    def get(self, name: str) -> tuple[Credential, bytes] | None:
        """The credential and its sealed value, or None."""
        ...

    def list(self, limit: int, cursor: str | None) -> tuple[list[Credential], str | None]: ...

    def delete(self, name: str) -> None:
        """NotFound when missing; Conflict naming the projects it is bound to."""
        ...


class ProjectStore(Protocol):
    def insert(self, project: Project, sealed_callback_token: bytes) -> None:
        """The row and its credential bindings in one transaction: Conflict when the id or
        name is taken, ValidationFailed when a bound credential does not exist."""
        ...

    def get(self, project_id: str) -> Project | None: ...

    def list(
        self, limit: int, cursor: str | None, only: list[str] | None
    ) -> tuple[list[Project], str | None]:
        """Projects by id; `only` restricts the page to those ids."""
        ...

    def set_status(
        self,
        project_id: str,
        status: ProjectStatus,
        at: datetime,
        failed_step: str | None = None,
        error: str | None = None,
    ) -> None: ...

    def delete(self, project_id: str) -> None:
        """The row and everything that belongs to it."""
        ...

    def bind(self, project_id: str, env: str, credential: str, at: datetime) -> None:
        """ValidationFailed when the credential does not exist."""
        ...

    def unbind(self, project_id: str, env: str, at: datetime) -> bool:
        """False when nothing was bound to `env`."""
        ...

    def sealed_callback_token(self, project_id: str) -> bytes | None: ...
