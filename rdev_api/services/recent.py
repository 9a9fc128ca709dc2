"""Store reads kept for a few seconds, for the hot paths: a key read per request, the active
webhooks per event. A change made through the service forgets them at once; a change made to
the database by another process shows within `ttl_s`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, ttl_s: float, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.now = now
        self._values: dict[K, tuple[V, float]] = {}  # value, when its read began
        self._forgets = 0  # a read begun before a forget() is not kept after it
        self._guard = threading.Lock()

    def get(self, key: K, load: Callable[[], V | None]) -> V | None:
        """The value kept for `key`, or `load()`'s (None: nothing there, nothing kept)."""
        with self._guard:
            found = self._values.get(key)
            forgets = self._forgets
        started = self.now()
        if found is not None and started - found[1] < self.ttl_s:
            return found[0]
        value = load()
        with self._guard:
            if value is None:
                self._values.pop(key, None)
            elif forgets == self._forgets:
                self._values[key] = (value, started)
        return value

    def replace(self, key: K, value: V) -> None:
        """A newer `value` for a kept `key`, which keeps the time its read began."""
        with self._guard:
            found = self._values.get(key)
            if found is not None:
                self._values[key] = (value, found[1])

    def forget(self, key: K) -> None:
        with self._guard:
            self._forgets += 1
            self._values.pop(key, None)
