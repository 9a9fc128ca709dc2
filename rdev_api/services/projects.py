"""Projects: create (workspace, template, git, `sdlc init` with callbacks; all or nothing),
list, get, delete, credential bindings, and the environment and callback token commands use."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdev_api.domain.credentials import sealing_context, validate_name
from rdev_api.domain.errors import DomainError, NotFound
from rdev_api.domain.projects import (
    CALLBACK_TOKEN_ENV,
    Project,
    callback_context,
    callback_url,
    is_project_id,
    project_id_for,
    validate_env,
    validate_labels,
)
from rdev_api.ports.clock import Clock
from rdev_api.ports.secret_box import SecretBox
from rdev_api.ports.stores import CredentialStore, ProjectStore
from rdev_api.ports.workspaces import Scaffolder, Workspaces

PROJECT_NAME_VARIABLE = "project_name"


@dataclass(frozen=True)
class ProjectRequest:
    name: str
    template: str = "default"
    variables: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)


class ProjectService:
    def __init__(
        self,
        projects: ProjectStore,
        credentials: CredentialStore,
        workspaces: Workspaces,
        scaffolder: Scaffolder,
        box: SecretBox,
        clock: Clock,
        public_url: str,
    ) -> None:
        self.projects = projects
        self.credentials = credentials
        self.workspaces = workspaces
        self.scaffolder = scaffolder
        self.box = box
        self.clock = clock
        self.public_url = public_url

    def create(self, request: ProjectRequest) -> Project:
        """A ready project, or nothing left behind (or, when even the clean-up fails, the
        project recorded `failed` with the step that failed)."""
        project_id = project_id_for(request.name)
        labels = validate_labels(request.labels)
        bindings = {
            validate_env(env, f"credentials.{env}"): validate_name(name, f"credentials.{env}")
            for env, name in request.credentials.items()
        }
        types = self.scaffolder.variables_of(request.template)
        answers = dict(request.variables)
        if PROJECT_NAME_VARIABLE in types:
            answers[PROJECT_NAME_VARIABLE] = project_id
        now = self.clock.now()
        project = Project(
            id=project_id,
            name=request.name,
            template=request.template,
            variables={k: v for k, v in answers.items() if types.get(k) != "secret"},
            labels=labels,
            credentials=bindings,
            status="creating",
            workspace=str(self.workspaces.path_of(project_id)),
            created_at=now,
            updated_at=now,
        )
        token = secrets.token_urlsafe(32)
        self.projects.insert(project, self.box.seal(token.encode(), callback_context(project_id)))
        step, created = "workspace", False
        try:
            workspace = self.workspaces.create(project_id)
            created = True
            step = "render"
            self.scaffolder.render(request.template, workspace, answers)
            step = "git"
            self.scaffolder.commit(workspace, f"{request.name}: rendered from template {request.template}")
            step = "sdlc"
            url = callback_url(self.public_url, project_id)
            self.scaffolder.init_sdlc(workspace, project_id, url, CALLBACK_TOKEN_ENV)
            self.scaffolder.commit(workspace, "sdlc init")
            step = "ready"
            self.projects.set_status(project_id, "ready", self.clock.now())
        except Exception as err:
            self._undo_create(project_id, created, step, err)
            raise
        return self.get(project_id)

    def _undo_create(self, project_id: str, created: bool, step: str, err: Exception) -> None:
        try:
            if created:
                self.workspaces.remove(project_id)
            self.projects.delete(project_id)
        except Exception as cleanup:
            reason = err.message if isinstance(err, DomainError) else type(err).__name__
            self.projects.set_status(project_id, "failed", self.clock.now(), failed_step=step, error=reason)
            err.add_note(f"clean-up after the failed step {step} failed too: {type(cleanup).__name__}")

    def templates(self) -> list[dict[str, Any]]:
        return self.scaffolder.templates()

    def template(self, name: str) -> dict[str, Any]:
        return self.scaffolder.template(name)

    def get(self, project_id: str) -> Project:
        found = self.projects.get(project_id) if is_project_id(project_id) else None
        if found is None:
            raise NotFound(f"no project {project_id[:100]}")
        return found

    def list(
        self, limit: int, cursor: str | None, only: list[str] | None
    ) -> tuple[list[Project], str | None]:
        """A page of projects; `only` (a restricted key's projects) filters it."""
        return self.projects.list(limit, cursor, only)

    def delete(self, project_id: str) -> Project:
        """Remove the workspace, then the rows; a workspace that cannot be removed leaves the
        project `failed` at step `delete`."""
        project = self.get(project_id)
        self.projects.set_status(project_id, "deleting", self.clock.now())
        try:
            self.workspaces.remove(project_id)
        except Exception as err:
            reason = err.message if isinstance(err, DomainError) else type(err).__name__
            self.projects.set_status(
                project_id, "failed", self.clock.now(), failed_step="delete", error=reason
            )
            raise
        self.projects.delete(project_id)
        return project

    def bind(self, project_id: str, env: str, credential: str) -> Project:
        validate_env(env)
        validate_name(credential, "credential")
        self.get(project_id)
        self.projects.bind(project_id, env, credential, self.clock.now())
        return self.get(project_id)

    def unbind(self, project_id: str, env: str) -> Project:
        validate_env(env)
        self.get(project_id)
        if not self.projects.unbind(project_id, env, self.clock.now()):
            raise NotFound(f"project {project_id} has no credential bound to {env}")
        return self.get(project_id)

    def workspace(self, project_id: str) -> Path:
        """The project's workspace; NotFound when there is no such project."""
        return Path(self.get(project_id).workspace)

    def environment(self, project_id: str) -> dict[str, str]:
        """The bound credentials' values by the environment variable they are bound to."""
        environment = {}
        for env, name in self.get(project_id).credentials.items():
            found = self.credentials.get(name)
            if found is None:  # a binding's credential cannot be deleted: the store refuses
                raise NotFound(f"no credential {name} (bound to {env} of project {project_id})")
            environment[env] = self.box.open(found[1], sealing_context(name)).decode()
        return environment

    def callback_token(self, project_id: str) -> str:
        """The token the project's `sdlc` signs its callbacks with (RDEV_CALLBACK_TOKEN)."""
        sealed = self.projects.sealed_callback_token(project_id) if is_project_id(project_id) else None
        if sealed is None:
            raise NotFound(f"no project {project_id[:100]}")
        return self.box.open(sealed, callback_context(project_id)).decode()
