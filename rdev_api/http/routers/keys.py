"""API keys: list, create (the token is returned once), get, revoke, rotate (`keys:admin`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from rdev_api.domain.keys import ALL_PROJECTS, ApiKey
from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.services.keys import KeyRequest, Principal

router = APIRouter(prefix="/keys", tags=["keys"])
Admin = Annotated[Principal, Depends(require("keys:admin"))]
ERRORS = error_responses(400, 401, 403, 404, 422, 429)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=20)
    projects: list[str] = Field(default_factory=lambda: [ALL_PROJECTS], max_length=1000)
    allowed_ips: list[str] = Field(default_factory=list, max_length=100)
    expires_at: datetime | None = None


class KeyWithToken(ApiKey):
    token: str = Field(description="The key itself: shown once, store it now.")


@router.get("", response_model=list[ApiKey], responses=ERRORS)
def list_keys(
    request: Request, response: Response, principal: Admin, limit: Limit = 100, cursor: Cursor = None
) -> list[ApiKey]:
    keys, next_cursor = request.app.state.services.keys.list(limit, cursor)
    link_next(request, response, next_cursor)
    return list(keys)


@router.post("", response_model=KeyWithToken, status_code=201, responses=ERRORS)
def create_key(request: Request, body: KeyCreate, principal: Admin) -> KeyWithToken:
    """A key no broader than the caller's own (scopes and projects)."""
    wanted = KeyRequest(body.name, body.scopes, body.projects, body.allowed_ips, body.expires_at)
    key, token = request.app.state.services.keys.create(principal, wanted)
    audit(request, principal, "key.create", key.id)
    return KeyWithToken(**key.model_dump(), token=token)


@router.get("/{key_id}", response_model=ApiKey, responses=ERRORS)
def get_key(request: Request, key_id: str, principal: Admin) -> ApiKey:
    key: ApiKey = request.app.state.services.keys.get(key_id)
    return key


@router.delete("/{key_id}", response_model=ApiKey, responses=ERRORS)
def revoke_key(request: Request, key_id: str, principal: Admin) -> ApiKey:
    """Revoke: the key stops working at once; the record stays for the audit trail."""
    key: ApiKey = request.app.state.services.keys.revoke(key_id)
    audit(request, principal, "key.revoke", key_id)
    return key


@router.post("/{key_id}/rotate", response_model=KeyWithToken, responses=ERRORS)
def rotate_key(request: Request, key_id: str, principal: Admin) -> KeyWithToken:
    """A new secret for the key; the old one stops working."""
    key, token = request.app.state.services.keys.rotate(key_id)
    audit(request, principal, "key.rotate", key_id)
    return KeyWithToken(**key.model_dump(), token=token)
