"""A fast path for the work queue's hot requests (the worker protocol, submits): served below
FastAPI's routing, dependency solving and wrappers, which were half of a busy server's time
for them. Pure ASGI, inside RequestContextMiddleware (request id, body limit, access log).

It serves only the happy path, by calling the FastAPI routes' own functions with the same
body model, `authorize` check and error envelope; anything it cannot serve exactly as they
would (another content type, a body that is not a valid model, a body that could not be read)
goes to FastAPI unchanged, its body replayed. It decides that before any side effect: a
request passed on was neither authenticated nor charged to the rate limit here."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import get_type_hints

from fastapi import Request, Response
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rdev_api.domain.errors import DomainError
from rdev_api.http.auth import API_KEY_HEADER, authorize
from rdev_api.http.errors import domain_error_response
from rdev_api.http.routers import work


@dataclass(frozen=True)
class FastRoute:
    endpoint: Callable[..., Awaitable[Response]]  # the FastAPI route's function
    scope: str  # the key scope its `require` dependency checks
    model: type[BaseModel]  # its body: the annotation of the endpoint's `body` parameter


def _route(endpoint: Callable[..., Awaitable[Response]], scope: str) -> FastRoute:
    return FastRoute(endpoint, scope, get_type_hints(endpoint)["body"])


# the same paths as the routes' (an item id is any non-empty segment without a slash, as
# Starlette's `{item_id}`); fullmatch, so a trailing slash or newline goes to FastAPI
ROUTES = {
    "/work": _route(work.submit_work, work.WRITER_SCOPE),
    "/work/batch": _route(work.submit_work_batch, work.WRITER_SCOPE),
    "/work/claim": _route(work.claim_work, work.WORKER_SCOPE),
}
ITEM_ROUTES = {
    "complete": _route(work.complete_work, work.WORKER_SCOPE),
    "fail": _route(work.fail_work, work.WORKER_SCOPE),
    "heartbeat": _route(work.heartbeat_work, work.WORKER_SCOPE),
}
_ITEM_PATH = re.compile(r"/work/([^/]+)/(complete|fail|heartbeat)")
# only the exact type the workers send: FastAPI's other JSON forms (charset, +json) go to it
_JSON = "application/json"


def match(path: str) -> tuple[FastRoute, dict[str, str]] | None:
    """The fast route of a POST to `path` and its path parameters, if it has one."""
    route = ROUTES.get(path)
    if route is not None:
        return route, {}
    found = _ITEM_PATH.fullmatch(path)
    if found is None:
        return None
    return ITEM_ROUTES[found[2]], {"item_id": found[1]}


class FastRoutesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            matched = match(scope["path"])
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, path_params = matched
        request = Request(scope, receive)
        if request.headers.get("content-type") != _JSON:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        try:
            body = await _read_body(receive, messages)
        except Exception as err:  # e.g. BodyTooLarge: FastAPI meets it reading the same body
            await self.app(scope, _replay(messages, receive, err), send)
            return
        model = _validated(route.model, body)
        if model is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        await self._serve(request, route, path_params, model, send)

    async def _serve(
        self, request: Request, route: FastRoute, path_params: dict[str, str], body: BaseModel, send: Send
    ) -> None:
        try:
            principal = authorize(request, await API_KEY_HEADER(request), route.scope)
            response = await route.endpoint(request=request, body=body, principal=principal, **path_params)
        except DomainError as err:
            response = domain_error_response(err)
        await response(request.scope, request.receive, send)


async def _read_body(receive: Receive, messages: list[Message]) -> bytes | None:
    """The whole body, each message kept in `messages` for a replay; None when something else
    than the body came (a disconnect)."""
    chunks = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _validated(model: type[BaseModel], body: bytes | None) -> BaseModel | None:
    """The body as `model`, or None for FastAPI to answer (its 400 or 422 envelope). pydantic's
    JSON parser accepts no JSON that Python's refuses, and both give the same values."""
    if body is None:
        return None
    try:
        return model.model_validate_json(body)
    except ValidationError:
        return None


def _replay(messages: list[Message], receive: Receive, failure: Exception | None = None) -> Receive:
    """A `receive` giving the messages already read, then raising what reading them raised
    (once), then the real `receive`'s."""
    pending = list(messages)

    async def replay() -> Message:
        nonlocal failure
        if pending:
            return pending.pop(0)
        if failure is not None:
            raising, failure = failure, None
            raise raising
        return await receive()

    return replay
