"""Work items and the queue's rules (spec/rdev-api.md "Work items"): statuses, what a
failure or an expired lease does to an item, and exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from rdev_api.domain.errors import Conflict

WorkStatus = Literal["queued", "running", "succeeded", "failed", "dead", "cancelled"]
STATUSES: Final = ("queued", "running", "succeeded", "failed", "dead", "cancelled")
FINISHED: Final = frozenset({"succeeded", "failed", "dead", "cancelled"})
SERVER_TYPES: Final = ("command", "sdlc")  # types the server's embedded workers run
DEFAULT_MAX_ATTEMPTS: Final = 3
BACKOFF_BASE_S: Final = 2.0
BACKOFF_CAP_S: Final = 300.0


def backoff_seconds(
    attempt: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S, rng: random.Random | None = None
) -> float:
    """Delay before retry number `attempt` (1-based): full jitter over an exponential ceiling,
    so that many failing items do not retry in lockstep."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return (rng or random).uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Outcome:
    """What happens to an item after an attempt ends without success."""

    status: WorkStatus
    run_after: datetime | None


def after_failure(
    attempts: int, max_attempts: int, retryable: bool, now: datetime, rng: random.Random | None = None
) -> Outcome:
    """A failed attempt: back to the queue after a backoff while attempts remain and the failure
    is retryable; `dead` when they are used up; `failed` when it must not be retried."""
    if not retryable:
        return Outcome("failed", None)
    if attempts >= max_attempts:
        return Outcome("dead", None)
    return Outcome("queued", now + timedelta(seconds=backoff_seconds(attempts, rng=rng)))


def after_lease_expiry(attempts: int, max_attempts: int, now: datetime) -> Outcome:
    """A lease that expired: the worker vanished, the item goes back (or dies when spent)."""
    if attempts >= max_attempts:
        return Outcome("dead", None)
    return Outcome("queued", now)


def require_status(item: dict[str, Any], allowed: set[str] | frozenset[str], action: str) -> None:
    if item["status"] not in allowed:
        raise Conflict(f"cannot {action} work item {item['id']}: it is {item['status']}")
