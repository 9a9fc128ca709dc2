"""Webhook deliveries over HTTP with httpx: an explicit timeout, redirects never followed (a
redirect is a failed attempt), and, unless private destinations are allowed, a host that
resolves to a private or loopback address is refused before anything is sent."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx

from rdev_api.domain.webhooks import is_private_address, is_private_host
from rdev_api.timeouts import TIMEOUT_LOOKUP


class HttpWebhookSender:
    def __init__(self, allow_private: bool, connect_timeout: float = TIMEOUT_LOOKUP) -> None:
        self.allow_private = allow_private
        self.connect_timeout = connect_timeout

    def send(
        self, url: str, headers: dict[str, str], body: bytes, timeout: float
    ) -> tuple[int | None, str | None, int]:
        started = time.monotonic()
        refused = None if self.allow_private else _private_destination(url)
        if refused is not None:
            return None, refused, _ms(started)
        try:
            with httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(timeout, self.connect_timeout)),
                follow_redirects=False,
                trust_env=False,
            ) as client:
                response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as err:
            return None, f"{type(err).__name__}: {err}" if str(err) else type(err).__name__, _ms(started)
        error = None if response.is_success else f"HTTP {response.status_code}"
        return response.status_code, error, _ms(started)


def _private_destination(url: str) -> str | None:
    """Why the URL's host must not be called, or None when it is public."""
    host = urlsplit(url).hostname or ""
    if is_private_host(host):
        return f"refused: {host} is a private or loopback destination"
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except OSError as err:
        return f"cannot resolve {host}: {err}"
    private = sorted(a for a in addresses if isinstance(a, str) and is_private_address(a))
    if private:
        return f"refused: {host} resolves to the private or loopback address {private[0]}"
    return None


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
