"""Authentication and authorisation of routes: `X-API-Key`, the route's scope, the key's
project restriction and the per-key rate limit (token bucket)."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from rdev_api.domain.errors import RateLimited
from rdev_api.services.keys import Principal

API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="rdev_<id>_<secret>")
ANY_KEY = "any"  # routes any valid key may call (whoami, templates)


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float = 0.0
    updated: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """0 when a request may go now, else the seconds until one may."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, TokenBucket] = {}
        self._guard = threading.Lock()

    def check(self, key_id: str) -> None:
        with self._guard:
            bucket = self._buckets.setdefault(key_id, TokenBucket(self.rate, self.burst, self.burst))
            wait = bucket.take()
        if wait > 0:
            raise RateLimited(
                f"rate limit of {self.rate:g} requests/s exceeded for this key", retry_after=wait
            )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller's Principal, when its key is valid and holds `scope`. A
    coroutine: one indexed read (a write once a minute), no thread-pool round trip per request."""

    async def dependency(request: Request, token: str | None = Depends(API_KEY_HEADER)) -> Principal:
        return authorize(request, token, scope)

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def authorize(request: Request, token: str | None, scope: str) -> Principal:
    """`require`'s check, also run by the fast path: authenticate, check `scope`, then charge the
    key's rate limit (a request refused before that spends no token)."""
    services = request.app.state.services
    principal: Principal = services.keys.authenticate(token, client_ip(request))
    if scope != ANY_KEY:
        principal.grant.require(scope)
    services.rate_limiter.check(principal.key.id)
    request.state.principal = principal
    return principal


def audit(request: Request, principal: Principal, action: str, target: str | list[str]) -> None:
    """One audit row for a mutation made through the API (one per target of a batch): who,
    what, request id, client ip."""
    targets: list[str | None] = [target] if isinstance(target, str) else list(target)
    request.app.state.services.audit.record_many(
        principal.key.id, action, targets, request.state.request_id, client_ip(request)
    )
