"""Sending one webhook delivery over the network."""

from __future__ import annotations

from typing import Protocol


class WebhookSender(Protocol):
    def send(
        self, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> tuple[int | None, str | None, int]:
        """POST `body` to `url`: (status code or None, error or None, duration in ms). Never
        raises for a network failure: it is the error of the attempt."""
        ...
