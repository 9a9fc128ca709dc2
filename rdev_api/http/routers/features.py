"""A project's features through the `sdlc` library: list, show and classify them
(`projects:read`); create them, run them as `sdlc` work items, approve or reject their
artifacts (`projects:execute`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next, page_in_memory
from rdev_api.http.routers.work import WorkItem
from rdev_api.logging import FIELD_PROJECT_ID, FIELD_WORK_ID, get_logger
from rdev_api.services.keys import Principal
from rdev_api.services.sdlc import SdlcService
from rdev_api.services.sdlc_work import MAX_STEPS

router = APIRouter(prefix="/projects/{project_id}/features", tags=["sdlc"])
Reader = Annotated[Principal, Depends(require("projects:read"))]
Executor = Annotated[Principal, Depends(require("projects:execute"))]
ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)
log = get_logger("sdlc")


class FeatureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(min_length=1, max_length=200, description="The feature's slug (sdlc naming rules).")
    title: str | None = Field(None, min_length=1, max_length=500, description="Default: from the slug.")
    description: str | None = Field(None, max_length=20_000)


class FeatureRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(50, ge=1, le=MAX_STEPS, description="Most steps `sdlc run --loop` takes.")


class ArtifactMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(None, min_length=1, max_length=200, description="Who decides (default: the key).")
    reason: str | None = Field(None, max_length=5000)


class ArtifactMoved(BaseModel):
    feature: str
    phase: str
    artifact: dict[str, Any]
    changed: bool
    transitioned: list[str]


def _sdlc(request: Request) -> SdlcService:
    service: SdlcService = request.app.state.services.sdlc
    return service


def _actor(principal: Principal) -> str:
    return f"api:{principal.key.name or principal.key.id}"


@router.get("", response_model=list[dict[str, Any]], responses=ERRORS)
def list_features(
    request: Request,
    response: Response,
    project_id: str,
    principal: Reader,
    phase: Annotated[str | None, Query(max_length=50, description="Only features in this phase.")] = None,
    archived: Annotated[bool, Query(description="Include archived features.")] = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> list[dict[str, Any]]:
    """`sdlc feature list`: the features' summaries in creation order."""
    principal.grant.require_project(project_id)
    features = _sdlc(request).features(project_id, phase, archived)
    chosen, next_cursor = page_in_memory(features, "slug", limit, cursor)
    link_next(request, response, next_cursor)
    return chosen


@router.post("", response_model=dict[str, Any], status_code=201, responses=ERRORS)
def create_feature(
    request: Request, project_id: str, body: FeatureCreate, principal: Executor
) -> dict[str, Any]:
    """`sdlc feature create`: the new feature (in draft)."""
    principal.grant.require_project(project_id)
    feature = _sdlc(request).create(project_id, _actor(principal), body.slug, body.title, body.description)
    audit(request, principal, "feature.create", f"{project_id}/{body.slug}")
    return feature


@router.get("/{slug}", response_model=dict[str, Any], responses=ERRORS)
def get_feature(request: Request, project_id: str, slug: str, principal: Reader) -> dict[str, Any]:
    """`sdlc feature show`: the feature's manifest."""
    principal.grant.require_project(project_id)
    return _sdlc(request).feature(project_id, slug)


@router.get("/{slug}/next", response_model=dict[str, Any], responses=ERRORS)
def next_action(request: Request, project_id: str, slug: str, principal: Reader) -> dict[str, Any]:
    """`sdlc next --for`: what the feature needs next, and who acts."""
    principal.grant.require_project(project_id)
    return _sdlc(request).next(project_id, slug)


@router.post("/{slug}/run", response_model=WorkItem, status_code=202, responses=ERRORS)
def run_feature(
    request: Request, project_id: str, slug: str, body: FeatureRun, principal: Executor
) -> dict[str, Any]:
    """Queue an `sdlc` work item running `sdlc run <slug> --loop --max-steps N` in the workspace."""
    principal.grant.require_project(project_id)
    item = _sdlc(request).run(project_id, slug, body.max_steps, principal.grant)
    audit(request, principal, "feature.run", f"{project_id}/{slug}")
    log.info("feature run queued", extra={FIELD_PROJECT_ID: project_id, FIELD_WORK_ID: item["id"]})
    return item


def _move(
    request: Request,
    principal: Principal,
    project_id: str,
    slug: str,
    artifact: str,
    move: str,
    body: ArtifactMove,
) -> dict[str, Any]:
    principal.grant.require_project(project_id)
    moved = _sdlc(request).move_artifact(
        project_id, _actor(principal), slug, artifact, move, body.by, body.reason
    )
    audit(request, principal, f"feature.artifact.{move}", f"{project_id}/{slug}/{artifact}")
    return moved


@router.post("/{slug}/artifacts/{artifact}/approve", response_model=ArtifactMoved, responses=ERRORS)
def approve_artifact(
    request: Request, project_id: str, slug: str, artifact: str, body: ArtifactMove, principal: Executor
) -> dict[str, Any]:
    """`sdlc artifact approve`: a human approves the artifact (`artifact` is its type, e.g. spec)."""
    return _move(request, principal, project_id, slug, artifact, "approve", body)


@router.post("/{slug}/artifacts/{artifact}/reject", response_model=ArtifactMoved, responses=ERRORS)
def reject_artifact(
    request: Request, project_id: str, slug: str, artifact: str, body: ArtifactMove, principal: Executor
) -> dict[str, Any]:
    """`sdlc artifact reject`: a human rejects the artifact, with the reason."""
    return _move(request, principal, project_id, slug, artifact, "reject", body)
