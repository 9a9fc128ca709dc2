"""Credentials: list (names and metadata only, `credentials:read`), put and delete
(`credentials:write`), reveal (`admin`, audited). A value is never in a response but reveal's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from rdev_api.domain.credentials import MAX_VALUE_BYTES, Credential
from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.services.keys import Principal

router = APIRouter(prefix="/credentials", tags=["credentials"])
Reader = Annotated[Principal, Depends(require("credentials:read"))]
Writer = Annotated[Principal, Depends(require("credentials:write"))]
Admin = Annotated[Principal, Depends(require("admin"))]
ERRORS = error_responses(400, 401, 403, 404, 422, 429)


class CredentialPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(
        min_length=1, max_length=MAX_VALUE_BYTES, description="Stored encrypted; never shown again."
    )
    description: str | None = Field(None, max_length=500, description="Kept as it was when omitted.")


class RevealedCredential(BaseModel):
    name: str
    value: str


@router.get("", response_model=list[Credential], responses=ERRORS)
def list_credentials(
    request: Request, response: Response, principal: Reader, limit: Limit = 100, cursor: Cursor = None
) -> list[Credential]:
    found, next_cursor = request.app.state.services.credentials.list(limit, cursor)
    link_next(request, response, next_cursor)
    return list(found)


@router.put("/{name}", response_model=Credential, responses=ERRORS)
def put_credential(request: Request, name: str, body: CredentialPut, principal: Writer) -> Credential:
    """Create the credential or replace its value; the name is [A-Za-z0-9_.-]{1,100}."""
    credential: Credential = request.app.state.services.credentials.put(name, body.value, body.description)
    audit(request, principal, "credential.put", name)
    return credential


@router.delete("/{name}", status_code=204, responses=error_responses(400, 401, 403, 404, 409, 422, 429))
def delete_credential(request: Request, name: str, principal: Writer) -> Response:
    """Refused (CONFLICT, naming the projects) while the credential is bound to a project."""
    request.app.state.services.credentials.delete(name)
    audit(request, principal, "credential.delete", name)
    return Response(status_code=204)


@router.post("/{name}/reveal", response_model=RevealedCredential, responses=ERRORS)
def reveal_credential(request: Request, name: str, principal: Admin) -> RevealedCredential:
    """The decrypted value (audited)."""
    value = request.app.state.services.credentials.value(name)
    audit(request, principal, "credential.reveal", name)
    return RevealedCredential(name=name, value=value)
