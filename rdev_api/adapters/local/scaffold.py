"""Scaffolding a local workspace (the Scaffolder port): the template rendered by `skeletons`,
commits made with gitpython, and `sdlc init` with the project's callbacks configured."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rdev_api.domain.errors import NotFound, ValidationFailed
from skeletons.errors import SkeletonError, TemplateNotFound, VariableInvalid
from skeletons.registry import TEMPLATES_DIR, describe, get_template, list_templates
from skeletons.units import render

AUTHOR_NAME = "rdev"
AUTHOR_EMAIL = "rdev@localhost"
INITIAL_BRANCH = "main"
_VARIABLE = re.compile(r"variable '(?P<name>[^']+)'")


class LocalScaffolder:
    def __init__(self, templates: Path = TEMPLATES_DIR) -> None:
        self.directory = templates

    def templates(self) -> list[dict[str, Any]]:
        return [describe(t) for t in list_templates(directory=self.directory)]

    def template(self, name: str) -> dict[str, Any]:
        try:
            return describe(get_template(name, self.directory), full=True)
        except TemplateNotFound as err:
            raise NotFound(f"{err.message}; {err.hint}" if err.hint else err.message) from err

    def variables_of(self, template: str) -> dict[str, str]:
        try:
            found = get_template(template, self.directory)
            return {name: variable.type for name, variable in found.manifest.variables.items()}
        except TemplateNotFound as err:
            raise ValidationFailed(
                err.message, details=[{"field": "template", "message": err.hint or err.message}]
            ) from err

    def render(self, template: str, workspace: Path, variables: dict[str, Any]) -> None:
        try:
            # env={}: a secret variable never comes from the server's own environment
            render(template, workspace, variables, env={}, directory=self.directory)
        except VariableInvalid as err:
            details = []
            for problem in err.problems:
                named = _VARIABLE.search(problem)
                field = f"variables.{named['name']}" if named else "variables"
                details.append({"field": field, "message": problem})
            raise ValidationFailed(f"invalid template variables: {err.message}", details=details) from err
        except SkeletonError as err:
            raise ValidationFailed(
                f"template {template} cannot be rendered: {err.message}",
                details=[{"field": "template", "message": err.hint or err.message}],
            ) from err

    def commit(self, workspace: Path, message: str) -> str:
        import git

        actor = git.Actor(AUTHOR_NAME, AUTHOR_EMAIL)
        if (workspace / ".git").is_dir():
            repo = git.Repo(workspace)
        else:
            repo = git.Repo.init(workspace, initial_branch=INITIAL_BRANCH)
        with repo:
            repo.git.add(all=True)
            sha: str = repo.index.commit(message, author=actor, committer=actor).hexsha
        return sha

    def init_sdlc(self, workspace: Path, project_id: str, callback_url: str, token_env: str) -> None:
        from sdlc.atomic import write_atomic
        from sdlc.callbacks import load_settings
        from sdlc.ops.init import init_project
        from sdlc.store import Store

        init_project(workspace)
        config_file = workspace / ".sdlc" / "config.yaml"
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
        config["callbacks"] = {"url": callback_url, "token_env": token_env, "project": project_id}
        write_atomic(config_file, yaml.safe_dump(config, sort_keys=False).encode())
        load_settings(Store(workspace))  # the section as sdlc reads it: a bad URL fails here
