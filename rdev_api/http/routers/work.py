"""The work queue: list, get, stats (`queue:read`); submit, cancel, retry (`queue:write`); and
the worker protocol: claim, heartbeat, complete, fail (`workers`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from rdev_api.domain.work import DEFAULT_MAX_ATTEMPTS, WorkStatus
from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.services.keys import Principal
from rdev_api.services.work import WorkRequest, WorkService

router = APIRouter(prefix="/work", tags=["work"])
WRITER_SCOPE, WORKER_SCOPE = "queue:write", "workers"  # also checked by the fast path
Reader = Annotated[Principal, Depends(require("queue:read"))]
Writer = Annotated[Principal, Depends(require(WRITER_SCOPE))]
Worker = Annotated[Principal, Depends(require(WORKER_SCOPE))]
ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)
TYPE_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
WORKER_ID = Field(min_length=1, max_length=200, description="How the server knows the worker.")
LEASE_S = Field(default=None, gt=0, le=86400, description="Lease length; default RDEV_LEASE.")
MAX_CLAIM_WAIT_S = 20.0
MAX_BATCH = 100
TYPES = Field(min_length=1, max_length=50)


class WorkItem(BaseModel):
    id: str
    type: str
    project: str | None
    payload: dict[str, Any]
    status: WorkStatus
    priority: int = Field(description="Higher first.")
    attempts: int
    max_attempts: int
    run_after: datetime
    lease_expires_at: datetime | None
    worker_id: str | None
    result: Any = None
    last_error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WorkSubmit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern=TYPE_PATTERN)
    project: str | None = Field(default=None, min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int = Field(default=0, ge=-1000, le=1000, description="Higher first.")
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100)
    run_after: AwareDatetime | None = Field(default=None, description="Not claimable before this time.")


class WorkBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[WorkSubmit] = Field(min_length=1, max_length=MAX_BATCH)


class WorkStats(BaseModel):
    by_status: dict[str, int]
    by_type: dict[str, dict[str, int]]
    oldest_queued_age_s: float | None
    window_s: float
    finished_in_window: int = Field(description="Items finished within the last window_s seconds.")
    run_time_mean_s: float | None
    run_time_p95_s: float | None


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str = WORKER_ID
    types: list[Annotated[str, Field(pattern=TYPE_PATTERN)]] = TYPES
    lease_s: float | None = LEASE_S
    wait_s: float = Field(
        default=0,
        ge=0,
        le=MAX_CLAIM_WAIT_S,
        description="Long polling: when nothing is claimable, wait up to this long for an item"
        " before answering 204 (at once for a draining worker).",
    )


class HeartbeatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str | None = Field(default=None, min_length=1, max_length=200)
    lease_s: float | None = LEASE_S


class NextClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: list[Annotated[str, Field(pattern=TYPE_PATTERN)]] = TYPES
    lease_s: float | None = LEASE_S


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: str | None = Field(default=None, min_length=1, max_length=200)
    claim: NextClaim | None = Field(
        default=None,
        description="Also claim the worker's next item (needs worker_id): it comes back in `next`,"
        " saving the worker a request per item.",
    )

    @model_validator(mode="after")
    def _claim_needs_worker(self) -> Outcome:
        if self.claim is not None and self.worker_id is None:
            raise ValueError("claim needs worker_id: the next item is leased to that worker")
        return self


class CompleteRequest(Outcome):
    result: Any = None


class FailRequest(Outcome):
    error: str = Field(max_length=65536)
    retryable: bool = True


class WorkOutcome(WorkItem):
    next: WorkItem | None = Field(
        default=None, description="The item claimed for the worker when asked (`claim`); null if none."
    )


def _json(data: Any, status_code: int = 200) -> Response:
    """The queue's hot routes answer the records the store just wrote, in the documented shape,
    serialized the way pydantic would but without validating them again (that was a tenth of
    a busy server's time)."""
    return Response(pydantic_core.to_json(data), status_code=status_code, media_type="application/json")


def _work(request: Request) -> WorkService:
    service: WorkService = request.app.state.services.work
    return service


@router.get("", response_model=list[WorkItem], responses=ERRORS)
def list_work(
    request: Request,
    response: Response,
    principal: Reader,
    status: Annotated[WorkStatus | None, Query()] = None,
    type_: Annotated[str | None, Query(alias="type", max_length=64)] = None,
    project: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[dict[str, Any]]:
    """Work items by creation time, filtered by status, type and project."""
    items, next_cursor = _work(request).list_items(status, type_, project, principal.grant, limit, cursor)
    link_next(request, response, next_cursor)
    return items


@router.get("/stats", response_model=WorkStats, responses=ERRORS)
def work_stats(request: Request, principal: Reader) -> dict[str, Any]:
    """Counts by status and type, the oldest queued item's age, and the last 5 minutes:
    items finished, mean and p95 run time."""
    return _work(request).stats()


# The queue's hot routes are coroutines: each is a few point reads and writes of SQLite, cheaper
# run on the event loop than handed to the thread pool and back (a third more items/s). The fast
# path (rdev_api/http/fast_routes.py) calls them too, with their arguments by name. Nothing is
# awaited inside a unit of work: the loop's thread holds the write transaction meanwhile.
@router.post("", response_model=WorkItem, status_code=201, responses=ERRORS)
async def submit_work(request: Request, body: WorkSubmit, principal: Writer) -> Response:
    work = _work(request)
    with work.unit_of_work():  # the item and its audit row: one commit
        item = work.submit(_wanted(body), principal.grant)
        audit(request, principal, "work.submit", item["id"])
    return _json(item, 201)


@router.post("/batch", response_model=list[WorkItem], status_code=201, responses=ERRORS)
async def submit_work_batch(request: Request, body: WorkBatch, principal: Writer) -> Response:
    """Up to 100 items queued at once, all or none, answered in the order given."""
    work = _work(request)
    with work.unit_of_work():
        items = work.submit_many([_wanted(item) for item in body.items], principal.grant)
        audit(request, principal, "work.submit", [item["id"] for item in items])
    return _json(items, 201)


def _wanted(body: WorkSubmit) -> WorkRequest:
    return WorkRequest(
        body.type, body.payload, body.project, body.priority, body.max_attempts, body.run_after
    )


@router.post(
    "/claim",
    response_model=WorkItem,
    responses={204: {"description": "Nothing claimable now."}, **ERRORS},
)
async def claim_work(request: Request, body: ClaimRequest, principal: Worker) -> Response:
    """The highest-priority, oldest claimable item of `types`, leased to the worker; 204 when
    there is none, after waiting up to `wait_s` for one (at once when the worker is draining)."""
    work = _work(request)
    if body.wait_s > 0:
        item = await work.claim_waiting(
            body.worker_id, body.types, body.lease_s, principal.grant, body.wait_s
        )
    else:
        item = work.claim(body.worker_id, body.types, body.lease_s, principal.grant)
    if item is None:
        return Response(status_code=204)
    audit(request, principal, "work.claim", item["id"])
    return _json(item)


@router.get("/{item_id}", response_model=WorkItem, responses=ERRORS)
def get_work(request: Request, item_id: str, principal: Reader) -> dict[str, Any]:
    return _work(request).get(item_id, principal.grant)


@router.post("/{item_id}/cancel", response_model=WorkItem, responses=ERRORS)
def cancel_work(request: Request, item_id: str, principal: Writer) -> dict[str, Any]:
    """Queued or running items; the worker running it loses its lease."""
    item = _work(request).cancel(item_id, principal.grant)
    audit(request, principal, "work.cancel", item_id)
    return item


@router.post("/{item_id}/retry", response_model=WorkItem, responses=ERRORS)
def retry_work(request: Request, item_id: str, principal: Writer) -> dict[str, Any]:
    """A failed or dead item back in the queue, its attempts reset."""
    item = _work(request).retry(item_id, principal.grant)
    audit(request, principal, "work.retry", item_id)
    return item


@router.post("/{item_id}/heartbeat", response_model=WorkItem, responses=ERRORS)
async def heartbeat_work(
    request: Request, item_id: str, body: HeartbeatRequest, principal: Worker
) -> Response:
    """Extend the lease; 409 when the caller does not hold it (any more)."""
    work = _work(request)
    with work.unit_of_work():
        item = work.heartbeat(item_id, body.worker_id, body.lease_s, principal.grant)
        audit(request, principal, "work.heartbeat", item_id)
    return _json(item)


@router.post("/{item_id}/complete", response_model=WorkOutcome, responses=ERRORS)
async def complete_work(request: Request, item_id: str, body: CompleteRequest, principal: Worker) -> Response:
    """Succeeded, with its result; with `claim`, the worker's next item in `next`."""
    work = _work(request)
    with work.unit_of_work():  # the outcome, the next claim and their audit rows: one commit
        item = work.complete(item_id, body.worker_id, body.result, principal.grant)
        audit(request, principal, "work.complete", item_id)
        outcome = _and_next(request, principal, body, item)
    return _json(outcome)


@router.post("/{item_id}/fail", response_model=WorkOutcome, responses=ERRORS)
async def fail_work(request: Request, item_id: str, body: FailRequest, principal: Worker) -> Response:
    """Retryable: back to the queue after a backoff, `dead` after max_attempts; else `failed`.
    With `claim`, the worker's next item in `next`."""
    work = _work(request)
    with work.unit_of_work():
        item = work.fail(item_id, body.worker_id, body.error, body.retryable, principal.grant)
        audit(request, principal, "work.fail", item_id)
        outcome = _and_next(request, principal, body, item)
    return _json(outcome)


def _and_next(request: Request, principal: Principal, body: Outcome, item: dict[str, Any]) -> dict[str, Any]:
    """The finished item, and the next one claimed when the body asks (never waiting)."""
    if body.claim is None or body.worker_id is None:
        return {**item, "next": None}
    following = _work(request).claim(body.worker_id, body.claim.types, body.claim.lease_s, principal.grant)
    if following is not None:
        audit(request, principal, "work.claim", following["id"])
    return {**item, "next": following}
