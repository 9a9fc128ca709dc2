"""Workspaces as directories under `<data dir>/workspaces/<project id>/` (the Workspaces port).
A project id is checked again here: whatever reaches this adapter, no path leaves the root."""

from __future__ import annotations

import shutil
from pathlib import Path

from rdev_api.domain.errors import Conflict, ValidationFailed
from rdev_api.domain.projects import is_project_id

WORKSPACES_DIR = "workspaces"


class LocalWorkspaces:
    def __init__(self, data_dir: Path) -> None:
        self.root = (data_dir / WORKSPACES_DIR).resolve()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def path_of(self, project_id: str) -> Path:
        """The workspace directory of `project_id`, refused unless it is a direct child of the root."""
        path = (self.root / project_id).resolve()
        if not is_project_id(project_id) or path.parent != self.root:
            raise ValidationFailed(
                f"invalid project id {project_id[:100]!r}",
                details=[{"field": "id", "message": "lowercase letters, digits and hyphens"}],
            )
        return path

    def create(self, project_id: str) -> Path:
        path = self.path_of(project_id)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            raise Conflict(f"a workspace for project {project_id} already exists at {path}") from None
        return path

    def remove(self, project_id: str) -> None:
        path = self.path_of(project_id)
        if path.is_symlink():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
