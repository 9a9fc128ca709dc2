"""Commands: start one in a project (202), list, get, cancel, and follow its events over SSE
with replay, resume after `Last-Event-ID`, heartbeats and a final `end` event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from rdev_api.domain.commands import CommandRequest
from rdev_api.envutil import get_env_duration
from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.services.keys import Principal

router = APIRouter(tags=["commands"])
Reader = Annotated[Principal, Depends(require("projects:read"))]
Executor = Annotated[Principal, Depends(require("projects:execute"))]
ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)


class Command(BaseModel):
    id: str
    project_id: str
    kind: str
    request: dict[str, Any]
    status: str
    exit_code: int | None
    signal: int | None
    reason: str | None
    output_bytes: int
    truncated: bool
    created_at: str
    started_at: str | None
    finished_at: str | None


def _visible(request: Request, principal: Principal, command_id: str) -> dict[str, Any]:
    command: dict[str, Any] = request.app.state.services.commands.get(command_id)
    principal.grant.require_project(command["project_id"])
    return command


# argv (1000 strings) and env (100 values) can exceed the 1 MiB body limit.
@router.post(
    "/projects/{project_id}/commands",
    response_model=Command,
    status_code=202,
    responses={**ERRORS, **error_responses(413)},
)
def start_command(
    request: Request, project_id: str, body: CommandRequest, principal: Executor
) -> dict[str, Any]:
    """Start a command in the project's workspace; follow it at /commands/{id}/events."""
    principal.grant.require_project(project_id)
    command: dict[str, Any] = request.app.state.services.commands.submit(project_id, body)
    audit(request, principal, f"command.start.{body.kind}", command["id"])
    return command


@router.get("/projects/{project_id}/commands", response_model=list[Command], responses=ERRORS)
def list_commands(
    request: Request,
    response: Response,
    project_id: str,
    principal: Reader,
    limit: Limit = 100,
    cursor: Cursor = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    principal.grant.require_project(project_id)
    found, next_cursor = request.app.state.services.commands.list(project_id, status, limit, cursor)
    link_next(request, response, next_cursor)
    return list(found)


@router.get("/commands/{command_id}", response_model=Command, responses=ERRORS)
def get_command(request: Request, command_id: str, principal: Reader) -> dict[str, Any]:
    return _visible(request, principal, command_id)


@router.post("/commands/{command_id}/cancel", response_model=Command, responses=ERRORS)
def cancel_command(request: Request, command_id: str, principal: Executor) -> dict[str, Any]:
    """Cancel a running command: its whole process group is ended (status cancelled)."""
    _visible(request, principal, command_id)
    services = request.app.state.services
    command: dict[str, Any] = services.commands.cancel(command_id)
    audit(request, principal, "command.cancel", command_id)
    return command


@router.get(
    "/commands/{command_id}/events",
    responses={
        **ERRORS,
        200: {"content": {"text/event-stream": {}}, "description": "output, agent, status and end events"},
    },
)
def follow_command(
    request: Request,
    command_id: str,
    principal: Reader,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> StreamingResponse:
    """Server-sent events: every event from the start (or after Last-Event-ID), `id:` = its
    sequence number; heartbeat comments during silence; the stream closes after `end`."""
    _visible(request, principal, command_id)
    heartbeat = get_env_duration("RDEV_SSE_HEARTBEAT")
    events = request.app.state.services.commands.follow(command_id, last_event_id or 0, heartbeat)
    return StreamingResponse(
        _sse(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(events: Iterator[tuple[int, str, str] | None]) -> Iterator[bytes]:
    for event in events:
        if event is None:
            yield b": heartbeat\n\n"
        else:
            seq, name, data = event
            yield f"id: {seq}\nevent: {name}\ndata: {data}\n\n".encode()
