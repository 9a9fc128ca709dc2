"""Webhooks (spec/rdev-api.md "Webhooks"): event names, the signature of a delivery, the rule on
private and loopback destinations, and what an attempt does to a delivery (retry with backoff
until the attempts are spent)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel

from rdev_api.domain.errors import ValidationFailed
from rdev_api.domain.timestamps import rfc3339
from rdev_api.domain.work import backoff_seconds

EVENTS: Final = (
    "project.created",
    "project.deleted",
    "command.finished",
    "work.succeeded",
    "work.failed",
    "work.dead",
    "feature.transitioned",
    "feature.action_required",
    "feature.released",
    "webhook.test",
)
ALL_EVENTS: Final = "*"
SIGNATURE_PREFIX: Final = "sha256="
DeliveryStatus = Literal["pending", "delivered", "failed"]
_ALPHABET: Final = string.ascii_lowercase + string.digits
_LOCAL_NAMES: Final = ("localhost", "localhost.localdomain")


class Webhook(BaseModel):
    """A webhook as the API shows it: never its secret."""

    id: str
    url: str
    events: list[str]
    active: bool
    description: str | None = None
    created_at: datetime
    updated_at: datetime

    def wants(self, event: str) -> bool:
        return ALL_EVENTS in self.events or event in self.events


class DeliveryAttempt(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int


class Delivery(BaseModel):
    id: str
    webhook_id: str
    event: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    attempt_log: list[DeliveryAttempt] = []


def new_id(prefix: str, length: int = 12) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    """The `X-Rdev-Signature` value: `sha256=<hex HMAC-SHA256 of the body with the secret>`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(delivery: Delivery) -> bytes:
    """The bytes sent for a delivery: the same on every attempt, so a signature stays valid."""
    document = {
        "id": delivery.id,
        "event": delivery.event,
        "created_at": rfc3339(delivery.created_at),
        "data": delivery.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def validate_events(events: Iterable[str], field: str = "events") -> list[str]:
    wanted = list(dict.fromkeys(events))
    unknown = [e for e in wanted if e != ALL_EVENTS and e not in EVENTS]
    if unknown or not wanted:
        problem = f"unknown events {unknown}" if unknown else "at least one event is required"
        raise ValidationFailed(
            f"invalid webhook: {problem}",
            details=[{"field": field, "message": f"allowed: {ALL_EVENTS}, {', '.join(EVENTS)}"}],
        )
    return [ALL_EVENTS] if ALL_EVENTS in wanted else wanted


def is_private_address(address: str) -> bool:
    """Loopback, private, link-local, unspecified, reserved or multicast: not the internet."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_reserved
        or ip.is_multicast
    )


def validate_url(url: str, allow_private: bool, field: str = "url") -> str:
    """An http(s) URL with a host; a loopback or private host is refused unless allowed."""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(
            f"invalid webhook URL: {message}", details=[{"field": field, "message": message}]
        )

    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise refuse("not a URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise refuse("expected http:// or https:// and a host")
    if parts.username is not None or parts.password is not None:
        raise refuse("credentials in the URL are not allowed; verify the signature instead")
    if not allow_private and is_private_host(host):
        raise refuse(
            f"{host} is a private or loopback destination (allowed only with RDEV_WEBHOOK_ALLOW_PRIVATE)"
        )
    return url.strip()


def is_private_host(host: str) -> bool:
    """A host that is a private address literal or a local name (no DNS: see the sender)."""
    name = host.lower().rstrip(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return is_private_address(name)
    except ValueError:
        return False


@dataclass(frozen=True)
class AttemptOutcome:
    status: DeliveryStatus
    next_attempt_at: datetime | None


def succeeded(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


def after_attempt(
    attempts: int,
    max_attempts: int,
    status_code: int | None,
    now: datetime,
    base: float,
    cap: float,
    rng: random.Random | None = None,
) -> AttemptOutcome:
    """`attempts` (1-based, this one included) ended with `status_code`: delivered on a 2xx,
    else retried after an exponential backoff with jitter, `failed` once the attempts are spent."""
    if succeeded(status_code):
        return AttemptOutcome("delivered", None)
    if attempts >= max_attempts:
        return AttemptOutcome("failed", None)
    delay = backoff_seconds(attempts, base=base, cap=cap, rng=rng)
    return AttemptOutcome("pending", now + timedelta(seconds=delay))
