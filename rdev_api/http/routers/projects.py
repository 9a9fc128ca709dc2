"""Projects: list and get (`projects:read`), create, delete and credential bindings
(`projects:write`). A project-restricted key sees and acts on its projects only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from rdev_api.domain.projects import Project, project_id_for
from rdev_api.http.auth import audit, require
from rdev_api.http.errors import error_responses
from rdev_api.http.pagination import Cursor, Limit, link_next
from rdev_api.logging import FIELD_PROJECT_ID, get_logger
from rdev_api.services.keys import Principal
from rdev_api.services.projects import ProjectRequest
from rdev_api.timeouts import TIMEOUT_STANDARD

router = APIRouter(prefix="/projects", tags=["projects"])
Reader = Annotated[Principal, Depends(require("projects:read"))]
Writer = Annotated[Principal, Depends(require("projects:write"))]
ERRORS = error_responses(400, 401, 403, 404, 422, 429)
log = get_logger("projects")

Answer = str | int | bool | list[str]


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Its slug is the project's id.")
    template: str = Field("default", min_length=1, max_length=100)
    variables: dict[str, Answer] = Field(
        default_factory=dict,
        max_length=100,
        description="Template answers; project_name is always the project's id.",
    )
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    credentials: dict[str, str] = Field(
        default_factory=dict, max_length=100, description="Environment variable → credential name."
    )


class Binding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: str = Field(min_length=1, max_length=100)


@router.get("", response_model=list[Project], responses=ERRORS)
def list_projects(
    request: Request, response: Response, principal: Reader, limit: Limit = 100, cursor: Cursor = None
) -> list[Project]:
    """The projects the key may see."""
    grant = principal.grant
    only = None if grant.is_admin or grant.all_projects else list(grant.projects)
    found, next_cursor = request.app.state.services.projects.list(limit, cursor, only)
    link_next(request, response, next_cursor)
    return list(found)


@router.get("/{project_id}", response_model=Project, responses=ERRORS)
def get_project(request: Request, project_id: str, principal: Reader) -> Project:
    principal.grant.require_project(project_id)
    project: Project = request.app.state.services.projects.get(project_id)
    return project


@router.post(
    "", response_model=Project, status_code=201, responses=error_responses(400, 401, 403, 409, 422, 429)
)
def create_project(request: Request, body: ProjectCreate, principal: Writer) -> Project:
    """Render the template into a new workspace, commit it, `sdlc init` it, bind the
    credentials; on any failure nothing is left behind."""
    principal.grant.require_project(project_id_for(body.name))
    wanted = ProjectRequest(body.name, body.template, dict(body.variables), body.labels, body.credentials)
    project: Project = request.app.state.services.projects.create(wanted)
    audit(request, principal, "project.create", project.id)
    request.app.state.services.webhooks.emit("project.created", {"project": project.model_dump(mode="json")})
    log.info("project created", extra={FIELD_PROJECT_ID: project.id})
    return project


@router.delete("/{project_id}", status_code=204, responses=ERRORS)
def delete_project(request: Request, project_id: str, principal: Writer) -> Response:
    """Remove the project's workspace and rows."""
    principal.grant.require_project(project_id)
    services = request.app.state.services
    services.projects.get(project_id)  # 404 before anything is cancelled
    services.commands.cancel_project(project_id, TIMEOUT_STANDARD)  # then the workspace goes
    services.projects.delete(project_id)
    audit(request, principal, "project.delete", project_id)
    request.app.state.services.webhooks.emit("project.deleted", {"project_id": project_id})
    log.info("project deleted", extra={FIELD_PROJECT_ID: project_id})
    return Response(status_code=204)


@router.put("/{project_id}/credentials/{env}", response_model=Project, responses=ERRORS)
def bind_credential(request: Request, project_id: str, env: str, body: Binding, principal: Writer) -> Project:
    """Bind a credential to the environment variable `env` ([A-Z_][A-Z0-9_]*) of the project's commands."""
    principal.grant.require_project(project_id)
    project: Project = request.app.state.services.projects.bind(project_id, env, body.credential)
    audit(request, principal, "project.credential.bind", f"{project_id}/{env}")
    return project


@router.delete("/{project_id}/credentials/{env}", response_model=Project, responses=ERRORS)
def unbind_credential(request: Request, project_id: str, env: str, principal: Writer) -> Project:
    principal.grant.require_project(project_id)
    project: Project = request.app.state.services.projects.unbind(project_id, env)
    audit(request, principal, "project.credential.unbind", f"{project_id}/{env}")
    return project
