"""`POST /projects/{id}/sdlc/events`: the callbacks of a project's `sdlc`. Authenticated by
`X-Rdev-Signature: sha256=<HMAC-SHA256 of the body with the project's callback token>`,
not by a key: the signature is checked over the raw body before it is parsed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from rdev_api.http.errors import error_responses
from rdev_api.logging import FIELD_PROJECT_ID, get_logger
from rdev_api.services.sdlc import SdlcEventBatch, SdlcService

router = APIRouter(prefix="/projects/{project_id}/sdlc", tags=["sdlc"])
log = get_logger("sdlc")


class EventsReceived(BaseModel):
    received: int
    stored: int
    duplicates: int


def _batch_schema() -> dict[str, Any]:
    """The batch's JSON schema with its event model inlined (the body is read raw)."""
    schema = SdlcEventBatch.model_json_schema()
    schema["properties"]["events"]["items"] = schema.pop("$defs")["SdlcEvent"]
    return schema


@router.post(
    "/events",
    response_model=EventsReceived,
    responses=error_responses(401, 413, 422),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _batch_schema()}}}
    },
)
async def receive_events(
    request: Request,
    project_id: str,
    x_rdev_signature: Annotated[
        str | None, Header(description="sha256=<hex HMAC-SHA256 of the body with the callback token>")
    ] = None,
) -> dict[str, Any]:
    """Events of the project's .sdlc/events.jsonl: stored once per event id, and turned into
    `feature.*` webhooks."""
    body = await request.body()
    service: SdlcService = request.app.state.services.sdlc
    received: dict[str, Any] = await run_in_threadpool(service.receive, project_id, body, x_rdev_signature)
    if received["stored"]:
        log.info("sdlc events stored", extra={FIELD_PROJECT_ID: project_id})
    return received
