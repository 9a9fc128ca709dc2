"""Projects (spec/rdev-api.md "Projects"): a workspace rendered from a template, a git
repository and an `sdlc` project, with credentials bound as environment variables. The name
gives the id (a slug, unique); the id names the workspace, so it is checked strictly."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from rdev_api.domain.errors import ValidationFailed

ProjectStatus = Literal["creating", "ready", "failed", "deleting"]
# A name starts with a letter or digit and has no path separators; its slug is the id.
NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}")
ID: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
ENV_NAME: Final = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
MAX_LABELS: Final = 50
# The variable a project's `sdlc` reads its callback token from (commands set it).
CALLBACK_TOKEN_ENV: Final = "RDEV_CALLBACK_TOKEN"


class Project(BaseModel):
    id: str
    name: str
    template: str
    variables: dict[str, Any] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(
        default_factory=dict, description="Environment variable → credential name (never a value)."
    )
    status: ProjectStatus
    failed_step: str | None = None
    error: str | None = None
    workspace: str
    created_at: datetime
    updated_at: datetime


def project_id_for(name: str) -> str:
    """The id of a project named `name`: its slug (lowercase letters, digits, hyphens)."""
    if not NAME.fullmatch(name) or ".." in name:
        raise ValidationFailed(
            f"invalid project name {name[:100]!r}",
            details=[
                {
                    "field": "name",
                    "message": "1 to 100 of letters, digits, space _ . - starting with a letter or digit"
                    " (no '/', no '..')",
                }
            ],
        )
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    if not ID.fullmatch(slug):
        raise ValidationFailed(
            f"project name {name!r} has no usable id",
            details=[{"field": "name", "message": "needs letters or digits"}],
        )
    return slug


def is_project_id(value: str) -> bool:
    return ID.fullmatch(value) is not None


def validate_env(env: str, field: str = "env") -> str:
    if not ENV_NAME.fullmatch(env):
        raise ValidationFailed(
            f"invalid environment variable name {env[:128]!r}",
            details=[{"field": field, "message": "must match [A-Z_][A-Z0-9_]* (at most 128 characters)"}],
        )
    return env


def validate_labels(labels: dict[str, str]) -> dict[str, str]:
    problems = []
    if len(labels) > MAX_LABELS:
        problems.append({"field": "labels", "message": f"at most {MAX_LABELS} labels"})
    for key, value in labels.items():
        if not 1 <= len(key) <= 63 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_./-]*", key):
            problems.append(
                {"field": f"labels.{key[:63]}", "message": "a key is 1 to 63 of A-Z a-z 0-9 _ . / -"}
            )
        elif len(value) > 256:
            problems.append({"field": f"labels.{key}", "message": "a value is at most 256 characters"})
    if problems:
        raise ValidationFailed(f"{len(problems)} invalid label(s)", details=problems)
    return dict(labels)


def callback_context(project_id: str) -> bytes:
    """The associated data a project's callback token is sealed with."""
    return b"project:" + project_id.encode()


def callback_url(public_url: str, project_id: str) -> str:
    """Where the project's `sdlc` posts its events."""
    return f"{public_url.rstrip('/')}/projects/{project_id}/sdlc/events"
