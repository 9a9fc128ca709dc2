"""ASGI middleware: a request id on every request and response (also in every log line),
the body size limit, and one access-log line per request. Pure ASGI, so streamed responses
(SSE) pass through untouched."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Any

from rdev_api.logging import (
    FIELD_CLIENT_IP,
    FIELD_DURATION_MS,
    FIELD_METHOD,
    FIELD_PATH,
    FIELD_STATUS,
    get_logger,
    log_context,
)

Scope = dict[str, Any]
Message = dict[str, Any]
log = get_logger("http")
_INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
# the worker protocol's successful calls (claims, heartbeats, outcomes: hundreds a second on a
# busy queue) are logged at debug: at info they would drown the log and cost a sixth of each
# call; the audit trail keeps every outcome
_ROUTINE = re.compile(r"^/work/(claim|[^/]+/(heartbeat|complete|fail))$|^/workers/[^/]+/heartbeat$")
DEFAULT_BODY_LIMIT = 1024 * 1024


def new_request_id() -> str:
    return "req_" + secrets.token_hex(8)


class RequestContextMiddleware:
    def __init__(self, app: Any, body_limit: int = DEFAULT_BODY_LIMIT) -> None:
        self.app = app
        self.body_limit = body_limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.monotonic()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        with log_context(request_id=request_id):
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.body_limit:
                await self._too_large(send_with_id, request_id)
            else:
                await self.app(scope, self._limited(receive), send_with_id)
            level = logging.DEBUG if status < 400 and _ROUTINE.search(scope["path"]) else logging.INFO
            log.log(
                level,
                "request",
                extra={
                    FIELD_METHOD: scope["method"],
                    FIELD_PATH: scope["path"],
                    FIELD_STATUS: status,
                    FIELD_DURATION_MS: round((time.monotonic() - started) * 1000, 1),
                    FIELD_CLIENT_IP: (scope.get("client") or ("", 0))[0],
                },
            )

    def _limited(self, receive: Any) -> Any:
        """A body streamed without Content-Length is counted as it arrives."""
        received = 0
        limit = self.body_limit

        async def wrapped() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        return wrapped

    async def _too_large(self, send: Any, request_id: str) -> None:
        message = f"request body too large: the limit is {self.body_limit} bytes"
        body = json.dumps(
            {"error": {"code": "PAYLOAD_TOO_LARGE", "message": message, "request_id": request_id}}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


class BodyTooLarge(Exception):
    """Raised while reading a chunked body past the limit (answered 413 by the app)."""
