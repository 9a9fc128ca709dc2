"""Queue rules: backoff with jitter, failure and lease-expiry outcomes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdev_api.domain.errors import Conflict
from rdev_api.domain.work import (
    BACKOFF_CAP_S,
    after_failure,
    after_lease_expiry,
    backoff_seconds,
    require_status,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=60), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_exponentially_within_jittered_bounds(attempt: int, seed: int) -> None:
    delay = backoff_seconds(attempt, base=2.0, cap=BACKOFF_CAP_S, rng=random.Random(seed))
    ceiling = min(BACKOFF_CAP_S, 2.0 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    delays = {round(backoff_seconds(5, rng=rng), 3) for _ in range(50)}
    assert len(delays) > 40


def test_failure_outcomes() -> None:
    retry = after_failure(1, 3, True, NOW, random.Random(1))
    assert retry.status == "queued" and retry.run_after is not None and retry.run_after > NOW
    assert after_failure(3, 3, True, NOW).status == "dead"
    assert after_failure(1, 3, False, NOW).status == "failed"
    assert after_lease_expiry(1, 3, NOW).status == "queued"
    assert after_lease_expiry(3, 3, NOW).status == "dead"
    assert after_failure(2, 3, True, NOW, random.Random(2)).run_after <= NOW + timedelta(seconds=4)  # type: ignore[operator]


def test_require_status_names_the_state() -> None:
    require_status({"id": "w1", "status": "queued"}, {"queued"}, "cancel")
    with pytest.raises(Conflict, match="cannot retry work item w1: it is running"):
        require_status({"id": "w1", "status": "running"}, {"failed", "dead"}, "retry")
