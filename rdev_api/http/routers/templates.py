"""The templates projects are created from (any valid key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from rdev_api.http.auth import ANY_KEY, require
from rdev_api.http.errors import error_responses
from rdev_api.services.keys import Principal

router = APIRouter(prefix="/templates", tags=["templates"])
AnyKey = Annotated[Principal, Depends(require(ANY_KEY))]


class TemplateSummary(BaseModel):
    name: str
    kind: str
    version: str
    description: str


class TemplateDetail(TemplateSummary):
    model_config = ConfigDict(extra="allow")

    target: str | None = None
    requires: list[str] = []
    variables: list[dict[str, Any]] = []
    slots: dict[str, Any] = {}
    contributes: list[str] = []
    outputs: dict[str, str] = {}


@router.get("", response_model=list[TemplateSummary], responses=error_responses(401, 403, 422, 429))
def list_templates(request: Request, principal: AnyKey) -> list[dict[str, Any]]:
    """The server's templates (the installed skeletons), by kind then name."""
    return request.app.state.services.projects.templates()  # type: ignore[no-any-return]


@router.get("/{name}", response_model=TemplateDetail, responses=error_responses(401, 403, 404, 422, 429))
def get_template(request: Request, name: str, principal: AnyKey) -> dict[str, Any]:
    """One template with its variables, slots and outputs."""
    return request.app.state.services.projects.template(name)  # type: ignore[no-any-return]
