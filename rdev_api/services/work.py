"""The work queue's use cases (submit, claim, heartbeat, complete, fail, cancel, retry, reap,
stats, the worker registry) and the embedded workers: threads in the server that run the item
types with a registered handler (spec/rdev-api.md "Work items")."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from rdev_api.domain.errors import Conflict, NotFound, ProjectForbidden
from rdev_api.domain.keys import KeyGrant
from rdev_api.domain.work import DEFAULT_MAX_ATTEMPTS
from rdev_api.logging import (
    FIELD_ERROR,
    FIELD_STATUS,
    FIELD_WORK_ID,
    FIELD_WORKER_ID,
    get_logger,
    log_context,
)
from rdev_api.ports.clock import Clock
from rdev_api.ports.work import WorkerStore, WorkStore

STATS_WINDOW_S: Final = 300.0  # "finished in the last 5 minutes"
# an idle embedded worker, or a waiting claim, re-polls this often (a submit wakes it sooner;
# the re-poll finds delayed items and expired leases coming due)
IDLE_WAIT_S: Final = 1.0
ERROR_WAIT_S: Final = 1.0  # pause of a worker loop after the store failed

log = get_logger("queue")


class PermanentFailure(Exception):
    """Raised by a handler for a failure that retrying cannot fix: the item becomes `failed`."""


@dataclass
class WorkJob:
    """What a handler gets: the claimed item, and an event set when its lease is lost (the
    item was cancelled or went to another worker): the handler should stop."""

    item: dict[str, Any]
    lease_lost: threading.Event = field(default_factory=threading.Event)


Handler = Callable[[WorkJob], Any]


@dataclass(frozen=True)
class WorkRequest:
    type: str
    payload: dict[str, Any]
    project: str | None = None
    priority: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    run_after: datetime | None = None


def _scope(grant: KeyGrant | None) -> list[str] | None:
    """The projects a caller is limited to; None when it may see every item."""
    if grant is None or grant.is_admin or grant.all_projects:
        return None
    return list(grant.projects)


def _require_visible(item: dict[str, Any], grant: KeyGrant | None) -> None:
    if _scope(grant) is None:
        return
    assert grant is not None
    if item["project"] is None:
        raise ProjectForbidden(f"work item {item['id']} belongs to no project and this key is restricted")
    grant.require_project(item["project"])


class WorkService:
    def __init__(self, items: WorkStore, workers: WorkerStore, clock: Clock, lease_s: float) -> None:
        self.items = items
        self.workers = workers
        self.clock = clock
        self.lease_s = lease_s
        self.handlers: dict[str, Handler] = {}
        self._submitted = threading.Condition()
        # long-polling claims waiting on an event loop, woken with the embedded workers
        self._waiting_claims: dict[asyncio.Future[None], _Waiter] = {}  # oldest first
        self._waiting_guard = threading.Lock()
        self.closing = False  # set as the server stops: waiting claims answer at once
        # told of every item that reached succeeded, failed or dead (the app emits webhooks)
        self.on_finished: Callable[[dict[str, Any]], None] | None = None

    def _finished(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.on_finished is not None and item.get("status") in ("succeeded", "failed", "dead"):
            self.on_finished(item)
        return item

    def register_handler(self, type_: str, handler: Handler) -> None:
        """Embedded workers run items of `type_` with `handler` (its return value is the result)."""
        self.handlers[type_] = handler
        self.wake()

    # --- items ---------------------------------------------------------------------------

    def submit(self, request: WorkRequest, grant: KeyGrant | None) -> dict[str, Any]:
        return self.submit_many([request], grant)[0]

    def submit_many(self, requests: list[WorkRequest], grant: KeyGrant | None) -> list[dict[str, Any]]:
        """Queue every request or none (one transaction): each is checked against the key's
        projects first."""
        for request in requests:
            if request.project is not None and grant is not None:
                grant.require_project(request.project)
            elif request.project is None and _scope(grant) is not None:
                raise ProjectForbidden("this key is restricted to projects: submit the item to one of them")
        now = self.clock.now()
        items = self.items.insert_many(
            [
                {
                    "id": f"wi_{secrets.token_hex(8)}",
                    "type": request.type,
                    "project": request.project,
                    "payload": request.payload,
                    "priority": request.priority,
                    "max_attempts": request.max_attempts,
                    "run_after": max(request.run_after or now, now),
                    "created_at": now,
                }
                for request in requests
            ]
        )
        for type_, count in Counter(request.type for request in requests).items():
            self.items.after_commit(functools.partial(self.wake, type_, count))
        return items

    def unit_of_work(self) -> AbstractContextManager[Any]:
        """One transaction for what is done inside it, across the stores (nested ones join it)."""
        return self.items.unit_of_work()

    def get(self, item_id: str, grant: KeyGrant | None) -> dict[str, Any]:
        item = self.items.get(item_id)
        if item is None:
            raise NotFound(f"no work item {item_id}")
        _require_visible(item, grant)
        return item

    def list_items(
        self,
        status: str | None,
        type_: str | None,
        project: str | None,
        grant: KeyGrant | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        projects = _scope(grant)
        if project is not None:
            if grant is not None:
                grant.require_project(project)
            projects = [project]
        return self.items.list_items(status, type_, projects, limit, cursor)

    def cancel(self, item_id: str, grant: KeyGrant | None) -> dict[str, Any]:
        self.get(item_id, grant)
        return self.items.cancel(item_id, self.clock.now())

    def retry(self, item_id: str, grant: KeyGrant | None) -> dict[str, Any]:
        self.get(item_id, grant)
        item = self.items.retry(item_id, self.clock.now())
        self.wake()
        return item

    def stats(self) -> dict[str, Any]:
        return self.items.stats(self.clock.now(), STATS_WINDOW_S)

    def reap(self) -> list[dict[str, Any]]:
        """Put items whose lease expired back in the queue (or dead when spent)."""
        reaped = self.items.reap(self.clock.now())
        if reaped:
            self.wake()
        return [self._finished(item) for item in reaped]

    # --- the worker protocol --------------------------------------------------------------

    def claim(
        self, worker_id: str, types: list[str], lease_s: float | None = None, grant: KeyGrant | None = None
    ) -> dict[str, Any] | None:
        if not types:
            return None
        return self.items.claim(
            worker_id, sorted(set(types)), lease_s or self.lease_s, self.clock.now(), _scope(grant)
        )

    def heartbeat(
        self, item_id: str, worker_id: str | None, lease_s: float | None = None, grant: KeyGrant | None = None
    ) -> dict[str, Any]:
        self._require_visible(item_id, grant)
        return self.items.heartbeat(item_id, worker_id, lease_s or self.lease_s, self.clock.now())

    def complete(
        self, item_id: str, worker_id: str | None, result: Any, grant: KeyGrant | None = None
    ) -> dict[str, Any]:
        self._require_visible(item_id, grant)
        return self._finished(self.items.complete(item_id, worker_id, result, self.clock.now()))

    def fail(
        self, item_id: str, worker_id: str | None, error: str, retryable: bool, grant: KeyGrant | None = None
    ) -> dict[str, Any]:
        self._require_visible(item_id, grant)
        return self._finished(self.items.fail(item_id, worker_id, error, retryable, self.clock.now()))

    async def claim_waiting(
        self, worker_id: str, types: list[str], lease_s: float | None, grant: KeyGrant | None, wait_s: float
    ) -> dict[str, Any] | None:
        """A claim that, when nothing is claimable, waits up to `wait_s` for an item (long
        polling); None at once for a draining or removed worker, or when the server stops."""
        deadline = time.monotonic() + wait_s
        loop = asyncio.get_running_loop()
        while True:
            future: asyncio.Future[None] = loop.create_future()
            with self._waiting_guard:  # registered before the claim: no wake-up falls in between
                self._waiting_claims[future] = _Waiter(loop, frozenset(types))
            try:
                item = self.claim(worker_id, types, lease_s, grant)
                remaining = deadline - time.monotonic()
                if item is not None or remaining <= 0 or self.closing or not self._available(worker_id):
                    return item
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, min(remaining, IDLE_WAIT_S))
            finally:
                with self._waiting_guard:
                    self._waiting_claims.pop(future, None)

    def waiting_claims(self) -> int:
        """How many long-polling claims wait now."""
        return len(self._waiting_claims)

    def _available(self, worker_id: str) -> bool:
        """Whether the worker may claim (registered workers: not draining; unknown ids may)."""
        found = self.workers.get(worker_id)
        return found is None or found["status"] not in ("draining", "gone")

    def _require_visible(self, item_id: str, grant: KeyGrant | None) -> None:
        """A key limited to projects must not touch other items; for the rest the store's own
        checks (NotFound, Conflict) are enough, without reading the item first."""
        if _scope(grant) is not None:
            self.get(item_id, grant)

    def wake(self, type_: str | None = None, count: int = 1) -> None:
        """Wake idle embedded workers and waiting claims: there may be something to claim.
        `count` new items of `type_` wake only as many of the longest-waiting claims of that
        type (waking them all would have each try a claim that all but a few lose)."""
        with self._submitted:
            self._submitted.notify_all()
        with self._waiting_guard:
            waiting = [
                (future, waiter)
                for future, waiter in self._waiting_claims.items()
                if not future.done() and (type_ is None or type_ in waiter.types)
            ]
        for future, waiter in waiting[:count] if type_ is not None else waiting:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nothing waits there
                waiter.loop.call_soon_threadsafe(_resolve, future)

    def stop_waiting(self) -> None:
        """The server stops: waiting claims answer now (204) instead of holding its shutdown."""
        self.closing = True
        self.wake()

    def wait_for_work(self, timeout: float) -> None:
        with self._submitted:
            self._submitted.wait(timeout)

    # --- the worker registry --------------------------------------------------------------

    def register_worker(
        self, worker_id: str | None, name: str | None, types: list[str], embedded: bool = False
    ) -> dict[str, Any]:
        chosen = worker_id or f"w_{secrets.token_hex(6)}"
        return self.workers.register(chosen, name, types, embedded, self.clock.now())

    def get_worker(self, worker_id: str) -> dict[str, Any]:
        found = self.workers.get(worker_id)
        if found is None:
            raise NotFound(f"no worker {worker_id}")
        return found

    def list_workers(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        return self.workers.list(limit, cursor)

    def worker_heartbeat(self, worker_id: str) -> dict[str, Any]:
        return self._set_worker(worker_id, None)

    def drain_worker(self, worker_id: str) -> dict[str, Any]:
        """The worker finishes what it holds and claims nothing new."""
        found = self._set_worker(worker_id, "draining")
        self.wake()  # its waiting claims answer 204 now
        return found

    def remove_worker(self, worker_id: str) -> None:
        if not self.workers.remove(worker_id):
            raise NotFound(f"no worker {worker_id}")
        self.wake()

    def _set_worker(self, worker_id: str, status: str | None) -> dict[str, Any]:
        found = self.workers.set_status(worker_id, status, self.clock.now())
        if found is None:
            raise NotFound(f"no worker {worker_id}: register it with POST /workers")
        return found


@dataclass(frozen=True)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    types: frozenset[str]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class EmbeddedWorkers:
    """`count` worker threads claiming the types that have a handler, one heartbeat thread
    renewing their leases every lease/3, and a reaper putting expired leases back."""

    def __init__(self, service: WorkService, count: int, reaper_interval_s: float) -> None:
        self.service = service
        self.count = count
        self.reaper_interval_s = reaper_interval_s
        self.worker_ids = [f"{socket.gethostname()}-embedded-{n}" for n in range(1, count + 1)]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, tuple[str, WorkJob]] = {}  # item id → (worker id, job)
        self._guard = threading.Lock()

    def start(self) -> None:
        """Reap leases left by a previous server, register the workers, start the threads."""
        self._stop.clear()
        self.service.reap()
        types = sorted(self.service.handlers)
        loops: list[tuple[str, Callable[..., None], tuple[Any, ...]]] = [
            ("work-reaper", self._reaper, ()),
            ("work-heartbeat", self._heartbeats, ()),
        ]
        for worker_id in self.worker_ids:
            self.service.register_worker(worker_id, "embedded", types, embedded=True)
            loops.append((worker_id, self._work, (worker_id,)))
        for name, target, args in loops:
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def health(self) -> str:
        """`ok` with how many embedded workers run, `off` when none are configured or started,
        an error when a loop died."""
        if not self.count or not self._threads:
            return "off"
        dead = [t.name for t in self._threads if not t.is_alive()]
        if dead:
            return f"error: stopped loops: {', '.join(dead)}"
        return f"ok ({self.count} embedded)"

    def stop(self, timeout: float) -> None:
        """Stop claiming, let running handlers finish within `timeout`, mark the workers gone.
        Items still running then keep their lease and go back to the queue when it expires."""
        self._stop.set()
        self.service.wake()
        for thread in self._threads:
            thread.join(timeout)
        still = [t.name for t in self._threads if t.is_alive()]
        if still:
            log.warning("embedded workers still busy at stop", extra={"threads": still})
        self._threads.clear()
        for worker_id in self.worker_ids:
            self.service.workers.set_status(worker_id, "gone", self.service.clock.now())

    def _work(self, worker_id: str) -> None:
        item: dict[str, Any] | None = None
        while item is not None or not self._stop.is_set():  # an item claimed is run, even so
            if item is None:
                try:
                    item = self._claim(worker_id)
                except Exception as err:  # the loop is the boundary: log once, pause, go on
                    log.error("claim failed", extra={FIELD_WORKER_ID: worker_id, FIELD_ERROR: repr(err)})
                    self._stop.wait(ERROR_WAIT_S)
                    continue
            if item is None:
                self.service.wait_for_work(IDLE_WAIT_S)
            else:
                item = self._run(worker_id, item)

    def _claim(self, worker_id: str) -> dict[str, Any] | None:
        types = sorted(self.service.handlers)
        return self.service.claim(worker_id, types) if types and not self._stop.is_set() else None

    def _run(self, worker_id: str, item: dict[str, Any]) -> dict[str, Any] | None:
        """Run the item and record its outcome; the worker's next item, claimed in the same
        transaction as the outcome, if any."""
        job = WorkJob(item)
        with self._guard:
            self._running[item["id"]] = (worker_id, job)
        try:
            with log_context(work_id=item["id"], project_id=item["project"]):
                return self._settle(worker_id, job)
        finally:
            with self._guard:
                self._running.pop(item["id"], None)

    def _settle(self, worker_id: str, job: WorkJob) -> dict[str, Any] | None:
        item_id = job.item["id"]
        following = None
        try:
            try:
                result = self.service.handlers[job.item["type"]](job)
            except PermanentFailure as err:
                log.warning("work item failed for good", extra={FIELD_ERROR: str(err)})
                outcome = functools.partial(self.service.fail, item_id, worker_id, str(err), False)
            except Exception as err:  # a handler's failure is the item's, not the worker's
                log.warning("work item failed", exc_info=err)
                outcome = functools.partial(
                    self.service.fail, item_id, worker_id, f"{type(err).__name__}: {err}", True
                )
            else:
                outcome = functools.partial(self.service.complete, item_id, worker_id, result)
            with self.service.unit_of_work():
                outcome()
                with contextlib.suppress(Exception):  # claimed again by the loop: not the outcome's
                    following = self._claim(worker_id)
        except (Conflict, NotFound) as lost:
            log.info("lease lost: the outcome is dropped", extra={FIELD_ERROR: lost.message})
        except Exception as err:  # the store failed: the lease will expire and the item rerun
            log.error("could not record the outcome", exc_info=err)
        return following

    def _heartbeats(self) -> None:
        while not self._stop.wait(self.service.lease_s / 3):
            with self._guard:
                running = list(self._running.items())
            for item_id, (worker_id, job) in running:
                try:
                    self.service.heartbeat(item_id, worker_id)
                except (Conflict, NotFound):
                    job.lease_lost.set()
                except Exception as err:  # retried at the next beat, well within the lease
                    log.error("heartbeat failed", extra={FIELD_WORKER_ID: worker_id, FIELD_ERROR: repr(err)})

    def _reaper(self) -> None:
        while not self._stop.wait(self.reaper_interval_s):
            try:
                reaped = self.service.reap()
            except Exception as err:  # retried at the next interval
                log.error("reaping expired leases failed", extra={FIELD_ERROR: repr(err)})
                continue
            for item in reaped:
                log.info("lease expired", extra={FIELD_WORK_ID: item["id"], FIELD_STATUS: item["status"]})
