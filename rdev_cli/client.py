"""The HTTP side of `rdev` (spec/rdev-cli.md "HTTP"): explicit timeouts, retries with
jittered backoff (connection errors, 429 with Retry-After, 502/503/504 for safe methods), the
key sent only to the configured origin (and over plain HTTP only to loopback), no redirects
followed, `--debug` request logs with secrets redacted, API errors as CliError with the exit
code of spec/rdev-cli.md and a hint, lists followed through `Link: rel="next"`."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from rdev_cli.errors import (
    EXIT_AUTH,
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_NETWORK,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    CliError,
)
from rdev_cli.output import OPTIONS
from rdev_cli.settings import Settings, resolve

STANDARD_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 5.0
RETRIES = 4
RETRY_BASE_S = 0.25
RETRY_CAP_S = 8.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})
SECRET_FIELDS = frozenset({"value", "secret", "api_key", "key", "token", "password", "callback_token"})
REDACTED = "***"

AUTH_HINTS = {
    "KEY_REVOKED": "this key was revoked: log in with another one (`rdev auth login`)",
    "KEY_EXPIRED": "this key has expired: ask for a new one (`rdev keys create`) and `rdev auth login`",
    "IP_NOT_ALLOWED": "this key is not allowed from your address: use a key without that allow-list",
    "UNAUTHORIZED": "log in with `rdev auth login`, or set RDEV_API_KEY",
    "FORBIDDEN": "use a key with that scope (`rdev auth status` shows yours)",
    "PROJECT_FORBIDDEN": "this key is restricted to other projects",
}


def exit_code_for(status: int) -> int:
    if status in (400, 413, 422):
        return EXIT_USAGE
    if status in (401, 403):
        return EXIT_AUTH
    if status in (404, 410):
        return EXIT_NOT_FOUND
    if status == 409:
        return EXIT_CONFLICT
    if status == 429 or status >= 500:
        return EXIT_NETWORK
    return EXIT_ERROR


def error_of(response: httpx.Response) -> CliError:
    """The API's error envelope as a CliError (message, field details, hint, request id)."""
    try:
        error = response.json()["error"]
        code, message = str(error.get("code", "")), str(error.get("message", ""))
        details = [
            f"{d.get('field')}: {d.get('message')}" if d.get("field") else str(d.get("message"))
            for d in error.get("details") or []
            if isinstance(d, dict)
        ]
        request_id = error.get("request_id") or response.headers.get("X-Request-ID")
    except (ValueError, KeyError, TypeError, AttributeError):
        code, details = "", []
        message = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        request_id = response.headers.get("X-Request-ID")
    hint = AUTH_HINTS.get(code)
    if response.status_code == 429:
        hint = "the API is rate limiting this key: try again shortly"
    elif response.status_code >= 500 and not hint:
        hint = "the server failed: see its log (`rdev server status`) and retry"
    err = CliError(
        f"{message} ({code or response.status_code})",
        hint=hint,
        exit_code=exit_code_for(response.status_code),
        details=details,
    )
    err.request_id = request_id  # type: ignore[attr-defined]
    err.code = code  # type: ignore[attr-defined]
    err.status = response.status_code  # type: ignore[attr-defined]
    return err


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redact(value: Any) -> Any:
    """Secret-looking fields of a JSON body replaced, recursively."""
    if isinstance(value, dict):
        return {k: REDACTED if k.lower() in SECRET_FIELDS and v else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _debug(line: str) -> None:
    if OPTIONS.debug:
        sys.stderr.write(f"debug: {line}\n")


def _body_for_log(content: bytes) -> str:
    try:
        return json.dumps(redact(json.loads(content)), ensure_ascii=False)[:2000]
    except ValueError:
        return f"<{len(content)} bytes>"


class Api:
    """One API, one key. `request` returns the response of a 2xx/3xx; anything else raises."""

    def __init__(
        self, settings: Settings | None = None, *, timeout: float = STANDARD_TIMEOUT_S, auth: bool = True
    ):
        from sdlc._version import __version__

        self.settings = settings or resolve()
        parts = urlsplit(self.settings.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CliError(
                f"invalid API URL {self.settings.url!r}",
                hint="use http(s)://HOST[:PORT], e.g. `rdev config set url http://127.0.0.1:8484`",
                exit_code=EXIT_USAGE,
            )
        self.origin = f"{parts.scheme}://{parts.netloc}"
        headers = {"User-Agent": f"rdev/{__version__}", "Accept": "application/json"}
        if auth:
            key = self.settings.require_key()
            if parts.scheme == "http" and not is_loopback(parts.hostname):
                raise CliError(
                    f"refusing to send the API key over plain HTTP to {parts.hostname}",
                    hint="use an https:// URL (plain http is only for loopback)",
                    exit_code=EXIT_USAGE,
                )
            headers["X-API-Key"] = key
        self.http = httpx.Client(
            base_url=self.settings.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_S),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _url(self, path: str) -> str:
        """A path of this API; an absolute URL only when it is of the same origin."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                raise CliError(
                    f"refusing to follow {parts.scheme}://{parts.netloc}: not the API's origin {self.origin}",
                    exit_code=EXIT_ERROR,
                )
            return path
        return path if path.startswith("/") else "/" + path

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> httpx.Response:
        method = method.upper()
        url = self._url(path)
        if json_body is not None:
            content = json.dumps(json_body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        params = {k: v for k, v in (params or {}).items() if v is not None}
        problem = ""
        for attempt in range(RETRIES + 1):
            started = time.monotonic()
            _debug(f"> {method} {url}{'?' + str(httpx.QueryParams(params)) if params else ''}")
            if content and OPTIONS.debug:
                _debug(f"> body {_body_for_log(content)}")
            try:
                response = self.http.request(
                    method,
                    url,
                    params=params or None,  # httpx replaces a query already in `url` with any params
                    content=content,
                    headers=headers,
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                )
            except httpx.TransportError as err:
                problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
                _debug(f"< {problem} after {(time.monotonic() - started) * 1000:.0f} ms")
                never_sent = isinstance(err, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt < RETRIES and (never_sent or method in SAFE_METHODS):
                    time.sleep(_backoff(attempt))
                    continue
                raise CliError(
                    f"cannot reach the API at {self.settings.url}: {problem}",
                    hint="is the server running? `rdev server status`, or check `rdev config show`",
                    exit_code=EXIT_NETWORK,
                ) from None
            _debug(
                f"< {response.status_code} {response.reason_phrase} "
                f"{(time.monotonic() - started) * 1000:.0f} ms "
                f"request-id={response.headers.get('X-Request-ID', '-')}"
            )
            retry = response.status_code == 429 or (
                response.status_code in RETRY_STATUSES and method in SAFE_METHODS
            )
            if retry and attempt < RETRIES:
                time.sleep(max(_backoff(attempt), _retry_after(response)))
                continue
            break
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "?")
            raise CliError(
                f"the API answered {response.status_code} with a redirect to {location}; not followed",
                hint="point rdev at the final URL: `rdev config set url URL`",
                exit_code=EXIT_ERROR,
            )
        if check and response.status_code >= 400:
            raise error_of(response)
        return response

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of the answer (None for an empty one)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return _json_of(response)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json_body={} if body is None else body, **kwargs)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Each page of a list, following `Link: rel="next"`."""
        url: str | None = path
        while url is not None:
            response = self.request("GET", url, params=params)
            params = None  # the next link carries the query
            data = response.json()
            yield data if isinstance(data, list) else [data]
            url = _next_link(response)

    def list(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        limit: int | None = None,
        all_pages: bool = False,
    ) -> list[Any]:
        """Up to `limit` items (following pages as needed), every item with `all_pages`, else
        the API's first page; says on stderr when more were left out."""
        params = dict(params or {})
        if limit is not None:
            params["limit"] = min(limit, 1000)
        items: list[Any] = []
        url: str | None = path
        while url is not None:
            response = self.request("GET", url, params=params)
            params = None  # the next link carries the query
            page = _json_of(response)
            items.extend(page if isinstance(page, list) else [page])
            url = _next_link(response)
            if limit is not None and len(items) >= limit:
                break
            if limit is None and not all_pages:
                break
        if url is not None and not all_pages:
            from rdev_cli.output import info

            info(f"showing the first {min(len(items), limit or len(items))} items; --all lists every one")
        return items[:limit] if limit is not None else items


def _json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CliError(
            f"the API's answer to {response.request.method} {response.request.url.path} is not JSON "
            f"(HTTP {response.status_code}, {len(response.content)} bytes)",
            hint="is the URL an rdev API? `rdev config show`; `rdev --debug ...` shows the exchange",
        ) from None


def _next_link(response: httpx.Response) -> str | None:
    next_link = response.links.get("next")
    return next_link.get("url") if next_link else None


def _backoff(attempt: int) -> float:
    return random.uniform(RETRY_BASE_S, min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (attempt + 1)))


def _retry_after(response: httpx.Response) -> float:
    with contextlib.suppress(ValueError):
        return min(RETRY_CAP_S * 4, float(response.headers.get("Retry-After", "0")))
    return 0.0
