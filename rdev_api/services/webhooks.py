"""Webhooks: register, change and remove them; turn events into stored deliveries; send the due
deliveries, signed, retrying with backoff (across restarts: a delivery is a row before it is
sent) until delivered or out of attempts, every attempt recorded."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rdev_api.domain.errors import Conflict, NotFound, ValidationFailed
from rdev_api.domain.timestamps import rfc3339
from rdev_api.domain.webhooks import (
    EVENTS,
    Delivery,
    DeliveryAttempt,
    Webhook,
    after_attempt,
    body_of,
    new_id,
    new_secret,
    sign,
    succeeded,
    validate_events,
    validate_url,
)
from rdev_api.ports.clock import Clock
from rdev_api.ports.secret_box import SecretBox
from rdev_api.ports.stores import WebhookStore
from rdev_api.ports.webhook_sender import WebhookSender
from rdev_api.services.recent import Recent

EDITABLE = frozenset({"url", "events", "active", "description"})
# how long emit() trusts its copy of the active webhooks when they were changed elsewhere (by
# another process on the same database); changes through this service take effect at once
ACTIVE_CACHE_S = 2.0
ACTIVE = "active"  # the one entry kept
BATCH = 10  # deliveries sent per look at the table (and between checks for stop)


@dataclass(frozen=True)
class DeliveryPolicy:
    """Retry knobs (RDEV_WEBHOOK_BACKOFF_BASE, _CAP, _MAX_ATTEMPTS), the timeout of one
    attempt, and how long the dispatcher sleeps when nothing is due and nothing wakes it."""

    backoff_base: float
    backoff_cap: float
    max_attempts: int
    timeout: float
    idle_poll: float


def secret_context(webhook_id: str) -> bytes:
    return b"webhook:" + webhook_id.encode()


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        box: SecretBox,
        sender: WebhookSender,
        clock: Clock,
        policy: DeliveryPolicy,
        allow_private: bool,
        on_dispatch_error: Callable[[Exception], None],
    ) -> None:
        self.store = store
        self.box = box
        self.sender = sender
        self.clock = clock
        self.policy = policy
        self.allow_private = allow_private
        self._dispatcher = Dispatcher(self, on_dispatch_error)
        # the active webhooks as last read (create, update and delete forget them)
        self._recent: Recent[str, list[Webhook]] = Recent(ACTIVE_CACHE_S, lambda: self.clock.monotonic())

    # --- webhooks -------------------------------------------------------------------------

    def create(
        self, url: str, events: list[str], description: str | None = None, active: bool = True
    ) -> tuple[Webhook, str]:
        """A new webhook and its signing secret (returned once; stored sealed)."""
        now = self.clock.now()
        webhook = Webhook(
            id=new_id("wh_"),
            url=validate_url(url, self.allow_private),
            events=validate_events(events),
            active=active,
            description=description,
            created_at=now,
            updated_at=now,
        )
        secret = new_secret()
        self.store.insert_webhook(webhook, self.box.seal(secret.encode(), secret_context(webhook.id)))
        self._forget_active()
        return webhook, secret

    def get(self, webhook_id: str) -> Webhook:
        found = self.store.get_webhook(webhook_id)
        if found is None:
            raise NotFound(f"no webhook {webhook_id}")
        return found[0]

    def update(self, webhook_id: str, changes: Mapping[str, Any]) -> Webhook:
        """Change the given fields (url, events, active, description) of a webhook."""
        unknown = sorted(set(changes) - EDITABLE)
        if unknown:
            raise ValidationFailed(
                f"cannot change {', '.join(unknown)}",
                details=[{"field": name, "message": "not editable"} for name in unknown],
            )
        nulls = sorted(
            name for name in ("url", "events", "active") if name in changes and changes[name] is None
        )
        if nulls:
            raise ValidationFailed(
                f"{', '.join(nulls)} cannot be null",
                details=[{"field": name, "message": "must not be null"} for name in nulls],
            )
        webhook = self.get(webhook_id)
        fields = dict(changes)
        if "url" in fields:
            fields["url"] = validate_url(fields["url"], self.allow_private)
        if "events" in fields:
            fields["events"] = validate_events(fields["events"])
        changed = webhook.model_copy(update={**fields, "updated_at": self.clock.now()})
        self.store.update_webhook(changed)
        self._forget_active()
        self._dispatcher.wake()
        return changed

    def delete(self, webhook_id: str) -> None:
        """The webhook and its deliveries; deliveries in flight are not recorded."""
        self.get(webhook_id)
        self.store.delete_webhook(webhook_id)
        self._forget_active()

    # --- deliveries -----------------------------------------------------------------------

    def emit(self, event: str, payload: Mapping[str, Any]) -> list[Delivery]:
        """One stored delivery per active webhook subscribed to `event`; the dispatcher sends them."""
        if event not in EVENTS:
            raise ValidationFailed(f"unknown webhook event {event!r}")
        targets = [w for w in self._active_webhooks() if w.wants(event)]
        return self._enqueue(targets, event, dict(payload)) if targets else []

    def subscribed(self, event: str) -> bool:
        """Whether an active webhook wants `event` (so a payload nobody gets need not be built)."""
        return any(w.wants(event) for w in self._active_webhooks())

    def test(self, webhook_id: str) -> Delivery:
        """A `webhook.test` delivery to this webhook only, whatever events it subscribes to."""
        webhook = self._active(webhook_id, "test")
        now = self.clock.now()
        payload = {"webhook_id": webhook.id, "url": webhook.url, "at": rfc3339(now)}
        return self._enqueue([webhook], "webhook.test", payload)[0]

    def redeliver(self, webhook_id: str, delivery_id: str) -> Delivery:
        """A new delivery of the same event and payload."""
        original = self.delivery(webhook_id, delivery_id)
        webhook = self._active(webhook_id, "redeliver to")
        return self._enqueue([webhook], original.event, original.payload)[0]

    def delivery(self, webhook_id: str, delivery_id: str) -> Delivery:
        found = self.store.get_delivery(delivery_id)
        if found is None or found.webhook_id != webhook_id:
            raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id}")
        return found

    def deliveries(
        self, webhook_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Delivery], str | None]:
        self.get(webhook_id)
        return self.store.list_deliveries(webhook_id, limit, cursor)

    def deliver_due(self, limit: int = BATCH) -> int:
        """Send the deliveries whose time has come, one attempt each; returns how many."""
        due = self.store.due_deliveries(self.clock.now(), limit)
        for delivery, url, sealed in due:
            self._attempt(delivery, url, self.box.open(sealed, secret_context(delivery.webhook_id)).decode())
        return len(due)

    def start(self) -> None:
        """Start sending in the background (pending deliveries of a previous run included)."""
        self._dispatcher.start()

    def stop(self) -> None:
        self._dispatcher.stop()

    def _active_webhooks(self) -> list[Webhook]:
        """The active webhooks, read at most every ACTIVE_CACHE_S (an event nobody subscribes
        to, such as every finished work item on a server without webhooks, costs no query)."""
        return self._recent.get(ACTIVE, self.store.active_webhooks) or []

    def _forget_active(self) -> None:
        self._recent.forget(ACTIVE)

    def _active(self, webhook_id: str, action: str) -> Webhook:
        webhook = self.get(webhook_id)
        if not webhook.active:
            raise Conflict(f"cannot {action} webhook {webhook_id}: it is inactive")
        return webhook

    def _enqueue(self, targets: list[Webhook], event: str, payload: dict[str, Any]) -> list[Delivery]:
        now = self.clock.now()
        made = [
            Delivery(
                id=new_id("dlv_", 16),
                webhook_id=w.id,
                event=event,
                payload=payload,
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
            for w in targets
        ]
        if made:
            self.store.insert_deliveries(made)
            self.store.after_commit(self._dispatcher.wake)
        return made

    def _attempt(self, delivery: Delivery, url: str, secret: str) -> None:
        body = body_of(delivery)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "rdev-webhooks",
            "X-Rdev-Event": delivery.event,
            "X-Rdev-Delivery": delivery.id,
            "X-Rdev-Signature": sign(secret, body),
        }
        at = self.clock.now()
        status_code, error, duration_ms = self.sender.send(url, headers, body, self.policy.timeout)
        number = delivery.attempts + 1
        outcome = after_attempt(
            number,
            self.policy.max_attempts,
            status_code,
            self.clock.now(),
            self.policy.backoff_base,
            self.policy.backoff_cap,
        )
        if not succeeded(status_code) and error is None:
            error = f"HTTP {status_code}"
        updated = delivery.model_copy(
            update={
                "status": outcome.status,
                "attempts": number,
                "next_attempt_at": outcome.next_attempt_at,
                "last_status": status_code,
                "last_error": None if succeeded(status_code) else error,
                "delivered_at": self.clock.now() if outcome.status == "delivered" else None,
            }
        )
        attempt = DeliveryAttempt(
            attempt=number, at=at, status_code=status_code, error=error, duration_ms=duration_ms
        )
        self.store.record_attempt(updated, attempt)

    # Last: the method named `list` would shadow the builtin in annotations after it.
    def list(self, limit: int, cursor: str | None) -> tuple[list[Webhook], str | None]:
        return self.store.list_webhooks(limit, cursor)


class Dispatcher:
    """The background thread that sends due deliveries: woken when one is stored, else asleep
    until the next one is due (at most `idle_poll`). An unexpected error goes to `on_error` (the
    boundary logs it) and the loop goes on after a pause."""

    def __init__(self, service: WebhookService, on_error: Callable[[Exception], None]) -> None:
        self.service = service
        self.on_error = on_error
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the attempt in flight (an attempt is bounded by the policy's timeout)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.service.policy.timeout * 2)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        policy = self.service.policy
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                while self.service.deliver_due() == BATCH and not self._stopping.is_set():
                    pass
                wait = self._until_next_due(policy.idle_poll)
            except Exception as err:  # the loop must outlive a bad row or a locked database
                self.on_error(err)
                wait = policy.idle_poll
            self._wake.wait(wait)

    def _until_next_due(self, longest: float) -> float:
        due = self.service.store.next_due_at()
        if due is None:
            return longest
        return min(longest, max(0.0, (due - self.service.clock.now()).total_seconds()))
