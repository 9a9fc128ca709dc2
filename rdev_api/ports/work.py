"""Persistence ports of the work queue and the worker registry. Items and workers travel as
plain dicts with the fields of spec/rdev-api.md "Work items" (timestamps as aware datetimes)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol


class WorkStore(Protocol):
    def unit_of_work(self) -> AbstractContextManager[Any]:
        """One transaction for the writes made inside it (of this store and the others of
        the same database): all of them or none."""
        ...

    def after_commit(self, then: Callable[[], None]) -> None:
        """`then()` once the current unit of work has committed (now when there is none)."""
        ...

    def insert(self, item: dict[str, Any]) -> dict[str, Any]:
        """Store a new queued item; NotFound when its project does not exist."""
        ...

    def insert_many(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store new queued items, all or none; NotFound when a project does not exist."""
        ...

    def get(self, item_id: str) -> dict[str, Any] | None: ...

    def list_items(
        self,
        status: str | None,
        type_: str | None,
        projects: list[str] | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Items by creation time; `projects` None means every item, else only those projects'."""
        ...

    def claim(
        self, worker_id: str, types: list[str], lease_s: float, now: datetime, projects: list[str] | None
    ) -> dict[str, Any] | None:
        """In one write transaction: the highest-priority, oldest claimable item of `types`, now
        running and leased to `worker_id`; None when there is none or the worker is draining."""
        ...

    def heartbeat(self, item_id: str, worker_id: str | None, lease_s: float, now: datetime) -> dict[str, Any]:
        """Extend the lease of a running item; Conflict unless `worker_id` holds it."""
        ...

    def complete(self, item_id: str, worker_id: str | None, result: Any, now: datetime) -> dict[str, Any]: ...

    def fail(
        self, item_id: str, worker_id: str | None, error: str, retryable: bool, now: datetime
    ) -> dict[str, Any]:
        """End an attempt without success: back to the queue after a backoff, dead or failed."""
        ...

    def cancel(self, item_id: str, now: datetime) -> dict[str, Any]: ...

    def retry(self, item_id: str, now: datetime) -> dict[str, Any]: ...

    def reap(self, now: datetime) -> list[dict[str, Any]]:
        """Items whose lease expired, put back in the queue (or dead when spent)."""
        ...

    def stats(self, now: datetime, window_s: float) -> dict[str, Any]: ...


class WorkerStore(Protocol):
    def register(
        self, worker_id: str, name: str | None, types: list[str], embedded: bool, now: datetime
    ) -> dict[str, Any]:
        """Create the worker, or make a known one active again with these types."""
        ...

    def get(self, worker_id: str) -> dict[str, Any] | None: ...

    def list(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...

    def set_status(self, worker_id: str, status: str | None, now: datetime) -> dict[str, Any] | None:
        """Record a sign of life (and a new status when given); None for an unknown worker."""
        ...

    def remove(self, worker_id: str) -> bool: ...
