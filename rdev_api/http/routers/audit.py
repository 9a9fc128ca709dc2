"""The audit trail (`admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from rdev_api.http.auth import require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.services.keys import Principal

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntry(BaseModel):
    id: int
    ts: str
    key_id: str | None
    action: str
    target: str | None
    request_id: str | None
    client_ip: str | None


@router.get("", response_model=list[AuditEntry], responses=error_responses(400, 401, 403, 422, 429))
def list_audit(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require("admin"))],
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[dict[str, Any]]:
    entries, next_cursor = request.app.state.services.audit.list(limit, cursor)
    link_next(request, response, next_cursor)
    return list(entries)
