"""`rdev projects`: list, get, create (from a template, with variables, labels and credential
bindings; `--wait` until ready), delete, and the credentials bound to a project's commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from rdev_cli.common import AllPages, Limit, WaitTimeout, Yes, api, command, confirm, pairs, wait_until
from rdev_cli.errors import EXIT_CONFLICT, EXIT_ERROR, EXIT_NOT_FOUND, EXIT_USAGE, CliError
from rdev_cli.output import emit, info

app = typer.Typer(no_args_is_help=True)
credentials_app = typer.Typer(no_args_is_help=True)
app.add_typer(
    credentials_app,
    name="credentials",
    help="The credentials bound to a project's commands as environment variables: list, bind, unbind.",
)

COLUMNS = ("id", "name", "template", "status", "created_at")
WIDE = ("labels", "credentials", "failed_step", "error", "workspace", "updated_at")
BINDING_COLUMNS = ("env", "credential")

Project = Annotated[str, typer.Argument(help="The project's id (e.g. my-shop).")]


NOT_FOUND_HINT = "`rdev projects list` shows the projects your key may see"


@contextmanager
def hinted(hints: dict[int, str]) -> Iterator[None]:
    """API errors that came without a hint get the one for their exit code."""
    try:
        yield
    except CliError as err:
        if not err.hint and err.exit_code in hints:
            err.hint = hints[err.exit_code]
        raise


def _path(project_id: str) -> str:
    from urllib.parse import quote

    return f"/projects/{quote(project_id, safe='')}"


@command(app, "list", "ls")
def list_projects(limit: Limit = None, all_pages: AllPages = False) -> None:
    """The projects your key may see."""
    with api() as client:
        found = client.list("/projects", limit=limit, all_pages=all_pages)
    emit(found, COLUMNS, wide=WIDE, name_key="id")


@command(app, "get")
def get_project(project: Project) -> None:
    """One project: its template, variables, labels, credential bindings and status."""
    with api() as client, hinted({EXIT_NOT_FOUND: NOT_FOUND_HINT}):
        found = client.get(_path(project))
    emit(found, COLUMNS, wide=WIDE, name_key="id")


@command(app, "create")
def create_project(
    name: Annotated[str, typer.Argument(help="The project's name; its slug is the id.")],
    template: Annotated[
        str, typer.Option("--template", "-t", help="The template to render (`rdev templates list`).")
    ] = "default",
    var: Annotated[
        list[str] | None, typer.Option("--var", "-v", help="A template answer NAME=VALUE (repeat).")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="A label KEY=VALUE (repeat).")
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", help="Bind a credential: ENV=CREDENTIAL_NAME (repeat)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the project is ready (or failed).")
    ] = False,
    timeout: WaitTimeout = None,
) -> None:
    """Create a project: render the template into a workspace, commit it, `sdlc init` it and
    bind the credentials. With --wait, return once it is ready; a failed project is exit 1."""
    body = {
        "name": name,
        "template": template,
        "variables": pairs(var, "--var"),
        "labels": pairs(label, "--label"),
        "credentials": pairs(credential, "--credential"),
    }
    invalid = f"`rdev templates show {template}` lists its variables; see `rdev projects create --help`"
    taken = "that name's id is taken: pick another name (`rdev projects list` shows the ids)"
    with api() as client, hinted({EXIT_USAGE: invalid, EXIT_CONFLICT: taken}):
        project = client.post("/projects", body)
        project_id = str(project["id"])
        if wait:
            project = wait_until(
                lambda: client.get(_path(project_id)),
                lambda p: p.get("status") in ("ready", "failed"),
                timeout=timeout,
                what=f"project {project_id}",
                hint=f"rdev projects get {project_id}",
            )
    if project.get("status") == "failed":
        raise _failed(project)
    emit(project, COLUMNS, wide=WIDE, name_key="id")
    info(f"created project {project_id} ({project.get('status')})")


def _failed(project: dict[str, Any]) -> CliError:
    step = project.get("failed_step") or "?"
    reason = project.get("error") or "no reason given"
    return CliError(
        f"project {project['id']} failed at step {step}: {reason}",
        hint=f"see `rdev projects get {project['id']}`, then `rdev projects delete {project['id']} --yes`",
        exit_code=EXIT_ERROR,
    )


@command(app, "delete", "rm")
def delete_project(project: Project, yes: Yes = False) -> None:
    """Delete a project: its running commands are cancelled, its workspace and rows removed."""
    confirm(f"Delete project {project} and its workspace?", yes, f"rdev projects delete {project}")
    with api() as client, hinted({EXIT_NOT_FOUND: NOT_FOUND_HINT}):
        client.call("DELETE", _path(project))
    info(f"deleted project {project}")


def _bindings(found: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"env": env, "credential": name} for env, name in sorted((found.get("credentials") or {}).items())
    ]


@command(credentials_app, "list", "ls")
def list_bindings(project: Project) -> None:
    """The project's bindings: environment variable → credential name (never a value)."""
    with api() as client, hinted({EXIT_NOT_FOUND: NOT_FOUND_HINT}):
        found = client.get(_path(project))
    emit(_bindings(found), BINDING_COLUMNS, name_key="env")


@command(credentials_app, "bind")
def bind(
    project: Project,
    env: Annotated[str, typer.Argument(help="The environment variable, e.g. NPM_TOKEN.")],
    credential: Annotated[str, typer.Argument(help="The credential's name (`rdev credentials list`).")],
) -> None:
    """Bind a credential to an environment variable of the project's commands (prints the
    project; `rdev projects credentials list PROJECT` shows the bindings)."""
    from urllib.parse import quote

    hints = {
        EXIT_NOT_FOUND: NOT_FOUND_HINT,
        EXIT_USAGE: "ENV is UPPER_CASE ([A-Z_][A-Z0-9_]*); the credential must exist (rdev credentials list)",
    }
    with api() as client, hinted(hints):
        found = client.call(
            "PUT", f"{_path(project)}/credentials/{quote(env, safe='')}", json_body={"credential": credential}
        )
    emit(found, COLUMNS, wide=WIDE, name_key="id")
    info(f"bound {credential} to {env} of project {project}")


@command(credentials_app, "unbind")
def unbind(
    project: Project,
    env: Annotated[str, typer.Argument(help="The environment variable to unbind.")],
) -> None:
    """Remove a binding (the credential itself stays)."""
    from urllib.parse import quote

    hint = f"`rdev projects credentials list {project}` shows its bindings"
    with api() as client, hinted({EXIT_NOT_FOUND: hint}):
        found = client.call("DELETE", f"{_path(project)}/credentials/{quote(env, safe='')}")
    emit(found, COLUMNS, wide=WIDE, name_key="id")
    info(f"unbound {env} of project {project}")
