"""The worker registry: list, get (`queue:read`); register, heartbeat, drain, remove (`workers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.http.routers.work import TYPE_PATTERN
from rdev_api.services.keys import Principal
from rdev_api.services.work import WorkService

router = APIRouter(prefix="/workers", tags=["workers"])
Reader = Annotated[Principal, Depends(require("queue:read"))]
Worker = Annotated[Principal, Depends(require("workers"))]
ERRORS = error_responses(400, 401, 403, 404, 422, 429)


class WorkerInfo(BaseModel):
    id: str
    name: str | None
    types: list[str]
    embedded: bool = Field(description="A thread of the server itself.")
    status: Literal["active", "draining", "gone"]
    last_seen_at: datetime
    registered_at: datetime


class WorkerRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
        description="The id the worker claims with; one is made up when absent.",
    )
    name: str | None = Field(default=None, max_length=100)
    types: list[Annotated[str, Field(pattern=TYPE_PATTERN)]] = Field(default_factory=list, max_length=50)


def _work(request: Request) -> WorkService:
    service: WorkService = request.app.state.services.work
    return service


@router.get("", response_model=list[WorkerInfo], responses=ERRORS)
def list_workers(
    request: Request, response: Response, principal: Reader, limit: Limit = 100, cursor: Cursor = None
) -> list[dict[str, Any]]:
    workers, next_cursor = _work(request).list_workers(limit, cursor)
    link_next(request, response, next_cursor)
    return workers


@router.post("", response_model=WorkerInfo, status_code=201, responses=ERRORS)
def register_worker(request: Request, body: WorkerRegister, principal: Worker) -> dict[str, Any]:
    """Register (or re-activate) a worker."""
    worker = _work(request).register_worker(body.id, body.name, body.types)
    audit(request, principal, "worker.register", worker["id"])
    return worker


@router.get("/{worker_id}", response_model=WorkerInfo, responses=ERRORS)
def get_worker(request: Request, worker_id: str, principal: Reader) -> dict[str, Any]:
    return _work(request).get_worker(worker_id)


@router.post("/{worker_id}/heartbeat", response_model=WorkerInfo, responses=ERRORS)
def heartbeat_worker(request: Request, worker_id: str, principal: Worker) -> dict[str, Any]:
    """A sign of life; the answer's status tells a worker whether it should drain."""
    worker = _work(request).worker_heartbeat(worker_id)
    audit(request, principal, "worker.heartbeat", worker_id)
    return worker


@router.post("/{worker_id}/drain", response_model=WorkerInfo, responses=ERRORS)
def drain_worker(request: Request, worker_id: str, principal: Worker) -> dict[str, Any]:
    """The worker keeps what it holds and claims nothing new (claims answer 204)."""
    worker = _work(request).drain_worker(worker_id)
    audit(request, principal, "worker.drain", worker_id)
    return worker


@router.delete("/{worker_id}", status_code=204, responses=ERRORS)
def remove_worker(request: Request, worker_id: str, principal: Worker) -> Response:
    """Forget the worker; items it still holds go back to the queue when their lease expires."""
    _work(request).remove_worker(worker_id)
    audit(request, principal, "worker.remove", worker_id)
    return Response(status_code=204)
