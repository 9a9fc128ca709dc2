"""The worker protocol's HTTP client for `rdev worker run`: the standard library's http.client
(a fraction of httpx's CPU per request, which counts when a worker runs hundreds of items a
second), one keep-alive connection per thread, explicit timeouts, retries with jitter."""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Final, cast
from urllib.parse import urlsplit

from rdev_cli.errors import EXIT_USAGE, CliError
from rdev_cli.output import OPTIONS, info

CONNECT_TIMEOUT_S: Final = 5.0
REQUEST_TIMEOUT_S: Final = 30.0
RETRY_ATTEMPTS: Final = 6  # HTTP calls retried on connection errors, 429 and 5xx
RETRY_BASE_S: Final = 0.2
RETRY_CAP_S: Final = 5.0


class ApiError(Exception):
    """An API call that failed for good (after the retries); `status` None: no answer;
    `fields`: the request fields a 422 names."""

    def __init__(self, message: str, status: int | None = None, fields: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.status = status
        self.fields = fields


def _jitter(attempt: int) -> float:
    return random.uniform(0, min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt))


class Api:
    """The worker protocol over http.client: one keep-alive connection per thread (the claim
    threads and the main thread's heartbeats), explicit timeouts, retries with jitter."""

    def __init__(self, url: str, key: str) -> None:
        from sdlc._version import __version__

        parts = urlsplit(url.rstrip("/"))
        try:
            self._address = (str(parts.hostname), parts.port or (443 if parts.scheme == "https" else 80))
        except ValueError as err:  # a port that is no number or out of range
            raise CliError(f"invalid API URL {url!r}: {err}", exit_code=EXIT_USAGE) from err
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CliError(f"invalid API URL {url!r}", hint="use http(s)://HOST[:PORT]", exit_code=EXIT_USAGE)
        self._prefix = parts.path  # e.g. /api behind a proxy
        self._open: Callable[..., http.client.HTTPConnection] = http.client.HTTPConnection
        if parts.scheme == "https":
            self._open = functools.partial(http.client.HTTPSConnection, context=ssl.create_default_context())
        self._headers = {"X-API-Key": key, "User-Agent": f"rdev-worker/{__version__}", "Accept": "*/*"}
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._guard = threading.Lock()

    def call(self, method: str, path: str, body: Any = None, timeout: float = REQUEST_TIMEOUT_S) -> Any:
        """The answer's JSON (None for 204); ApiError for a 4xx, or once the retries are spent.
        `timeout` bounds each wait for the server (a long-poll claim adds its wait_s)."""
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        for attempt in range(RETRY_ATTEMPTS):
            wait = _jitter(attempt)
            try:
                code, headers, content = self._exchange(method, path, data, timeout)
            except (OSError, http.client.HTTPException) as err:
                problem, status = f"{method} {path}: {type(err).__name__}: {err}", None
            else:
                if code == 204:
                    return None
                if code < 400:
                    return json.loads(content)
                problem, status = f"{method} {path}: HTTP {code}: {_message(content)}", code
                if code != 429 and code < 500:
                    raise ApiError(problem, code, _fields(content))
                with contextlib.suppress(ValueError):
                    wait = max(wait, min(RETRY_CAP_S, float(headers.get("Retry-After", "0"))))
            if OPTIONS.debug:
                info(f"retrying: {problem}")
            if attempt + 1 < RETRY_ATTEMPTS:
                time.sleep(wait)
        raise ApiError(problem, status)

    def _exchange(
        self, method: str, path: str, data: bytes | None, timeout: float
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request on this thread's connection; a kept-alive one the server has closed
        meanwhile is reopened and the request sent again at once (the server never saw it)."""
        connection = self._connection()
        reused = connection.sock is not None
        headers = self._headers if data is None else {**self._headers, "Content-Type": "application/json"}
        try:
            if connection.sock is None:
                connection.connect()
                # http.client sends the headers and the body as two writes: with Nagle's
                # algorithm the body waits for the server's delayed ACK, 40 ms a request
                cast(socket.socket, connection.sock).setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.sock.settimeout(timeout)
            connection.request(method, self._prefix + path, data, headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        except (BrokenPipeError, ConnectionResetError):  # http.client.RemoteDisconnected too
            connection.close()
            if not reused:
                raise
            return self._exchange(method, path, data, timeout)
        except BaseException:
            connection.close()  # a half-done exchange leaves the connection unusable
            raise

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open(*self._address, timeout=CONNECT_TIMEOUT_S)
            self._local.connection = connection
            with self._guard:
                self._opened.append(connection)
        return connection

    def close(self) -> None:
        with self._guard:
            for connection in self._opened:
                connection.close()


def _fields(content: bytes) -> frozenset[str]:
    try:
        return frozenset(str(d["field"]) for d in json.loads(content)["error"]["details"])
    except (ValueError, KeyError, TypeError):
        return frozenset()


def _message(content: bytes) -> str:
    try:
        message = json.loads(content)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return content[:200].decode("utf-8", errors="replace")
    return str(message)
