"""Project workspaces: where a project's files live (a directory on this machine locally, a
pod's volume in production) and the steps that scaffold one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class Workspaces(Protocol):
    def path_of(self, project_id: str) -> Path:
        """Where the project's workspace is (or would be); ValidationFailed for a malformed id."""
        ...

    def create(self, project_id: str) -> Path:
        """A fresh, empty workspace for the project; Conflict when one is already there."""
        ...

    def remove(self, project_id: str) -> None:
        """Remove the project's workspace and everything in it; nothing to do when it is gone."""
        ...


class Scaffolder(Protocol):
    def templates(self) -> list[dict[str, Any]]:
        """Every template: name, kind, version, description."""
        ...

    def template(self, name: str) -> dict[str, Any]:
        """One template in full (variables, slots, ...); NotFound when there is none."""
        ...

    def variables_of(self, template: str) -> dict[str, str]:
        """The template's variables and their types; ValidationFailed when it is unknown."""
        ...

    def render(self, template: str, workspace: Path, variables: dict[str, Any]) -> None:
        """Render the template into the empty workspace; ValidationFailed naming each bad
        variable."""
        ...

    def commit(self, workspace: Path, message: str) -> str:
        """Stage everything and commit (the repository is created when missing); the sha."""
        ...

    def init_sdlc(self, workspace: Path, project_id: str, callback_url: str, token_env: str) -> None:
        """`sdlc init`, with callbacks to `callback_url` signed by the token in `token_env`."""
        ...
