"""`rdev templates`: the installed skeletons, rendered and composed locally, no server needed
(spec/rdev-cli.md, spec/skeletons.md, docs/templates.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from rdev_cli.errors import EXIT_USAGE, CliError, from_skeleton_error
from rdev_cli.output import emit, info

HELP = "Project templates: list, show, render, compose (add/remove components), update, check."
app = typer.Typer(no_args_is_help=True)

VarOption = Annotated[
    list[str] | None,
    typer.Option("--var", "-v", help="An answer NAME=VALUE (repeat; lists comma separated)."),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan; write nothing.")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite: non-empty destination, edited files.")]
Remote = Annotated[
    bool, typer.Option("--remote", help="Ask the rdev API instead of the installed templates.")
]
Dest = Annotated[Path, typer.Argument(help="The project or monorepo directory.")]
FILE_COLUMNS = ("path", "action", "ownership")


def parse_vars(pairs: list[str] | None) -> dict[str, str]:
    answers: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CliError(
                f"invalid --var {pair!r}: expected NAME=VALUE",
                hint="e.g. --var project_name=shop",
                exit_code=EXIT_USAGE,
            )
        answers[name.strip()] = value
    return answers


def _directory() -> Path:
    """Where templates come from: RDEV_TEMPLATES_DIR (a directory of your own templates), else
    the installed skeletons."""
    import os

    from skeletons.registry import TEMPLATES_DIR

    given = os.environ.get("RDEV_TEMPLATES_DIR")
    return Path(given) if given else TEMPLATES_DIR


def _library(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the template library with the templates directory; its errors become CLI errors."""
    from skeletons.errors import SkeletonError

    try:
        return call(*args, directory=_directory(), **kwargs)
    except SkeletonError as err:
        raise from_skeleton_error(err) from err


def _remote(path: str, params: dict[str, Any] | None = None, *, many: bool = False) -> Any:
    """GET a templates route of the rdev API (every page of a list)."""
    from rdev_cli.common import api

    with api() as client:
        try:
            return client.list(path, params, all_pages=True) if many else client.get(path)
        except CliError as err:
            if getattr(err, "status", None) == 404:
                err.hint = (
                    "see the API's templates: rdev templates list --remote"
                    if not many
                    else "this API has no templates route (an older server?); drop --remote"
                )
            raise


def _plan(result: dict[str, Any], done: str, dry_run: bool) -> None:
    files = result.get("files", [])
    emit(files, FILE_COLUMNS, name_key="path")
    info(f"dry run: {len(files)} files planned, nothing written" if dry_run else done)


@app.command("list")
def list_templates(
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only this kind (project, component, ...).")
    ] = None,
    remote: Remote = False,
) -> None:
    """The installed templates (--remote: the API's)."""
    from skeletons.registry import describe, list_templates

    columns = ("name", "kind", "version", "description")
    if remote:
        emit(_remote("/templates", {"kind": kind}, many=True), columns)
        return
    emit([describe(t) for t in _library(list_templates, kind)], columns)


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Template name.")], remote: Remote = False) -> None:
    """A template's manifest: variables, slots, contributions, outputs."""
    from skeletons.registry import describe, get_template

    if remote:
        from urllib.parse import quote

        data = _remote(f"/templates/{quote(name, safe='')}")
    else:
        data = describe(_library(get_template, name), full=True)
    emit(data, ("name", "kind", "version", "description"))
    from rdev_cli.output import OPTIONS

    if OPTIONS.output is None and not OPTIONS.quiet and sys.stdout.isatty():
        for variable in data.get("variables") or []:
            default = f" (default: {variable['default']})" if "default" in variable else ""
            required = " (required)" if variable.get("required") else ""
            usage = f"--var {variable['name']}=<{variable['type']}>{required}{default}"
            info(f"  {usage}  {variable.get('help', '')}")


@app.command("render")
def render(
    name: Annotated[str, typer.Argument(help="Template name (see `rdev templates list`).")],
    dest: Annotated[Path, typer.Argument(help="Directory to create (must be empty unless --force).")],
    var: VarOption = None,
    dry_run: DryRun = False,
    force: Force = False,
) -> None:
    """Render a template into DEST."""
    from skeletons.units import render as render_template

    result = _library(render_template, name, dest, parse_vars(var), dry_run=dry_run, force=force)
    _plan(result, f"rendered {result['template']} {result['version']} into {dest}", dry_run)


@app.command("add-component")
def add_component(
    dest: Dest,
    template: Annotated[str, typer.Argument(help="A component or architecture template.")],
    var: VarOption = None,
    dry_run: DryRun = False,
    force: Force = False,
) -> None:
    """Add a component or architecture to the monorepo at DEST."""
    from skeletons.compose import add_component as add

    result = _library(add, dest, template, parse_vars(var), dry_run=dry_run, force=force)
    where = f" under {result['path']}" if result.get("path") else ""
    _plan(result, f"added {result['template']} as unit '{result['unit']}'{where}", dry_run)


def _confirm(question: str) -> None:
    if sys.stdin.isatty() and sys.stdout.isatty():
        if not typer.confirm(question, default=False, err=True):
            raise typer.Abort()
        return
    raise CliError(
        "this deletes files and no terminal is attached to confirm", hint="pass --yes", exit_code=EXIT_USAGE
    )


@app.command("remove-component")
def remove_component(
    dest: Dest,
    unit: Annotated[str, typer.Argument(help="The unit to remove (see `rdev templates units DEST`).")],
    dry_run: DryRun = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete files of the unit even when edited.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a unit from the monorepo at DEST: its files and its contributions."""
    from skeletons.compose import remove_component as remove

    if not dry_run and not yes:
        _library(remove, dest, unit, dry_run=True, force=force)  # refusals come before the question
        _confirm(f"Remove unit '{unit}' and its files from {dest}?")
    result = _library(remove, dest, unit, dry_run=dry_run, force=force)
    _plan(result, f"removed unit '{unit}'", dry_run)


@app.command("units")
def list_units(dest: Dest) -> None:
    """The templates applied in DEST (one lock file each)."""
    from skeletons.units import load_views

    views = _library(load_views, dest)
    rows = [
        {"unit": v.name, "template": v.template.name, "path": v.path or ".", "answers": v.answers}
        for v in views.values()
    ]
    emit(rows, ("unit", "template", "path"), wide=("answers",), name_key="unit")


@app.command("update")
def update(
    dest: Dest,
    unit: Annotated[
        list[str] | None, typer.Option("--unit", help="Only this unit (repeat); default all.")
    ] = None,
    var: VarOption = None,
    dry_run: DryRun = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite managed files you edited.")] = False,
) -> None:
    """Re-render units with their templates' current versions; edited files are kept and reported."""
    from skeletons.units import ROOT_UNIT, load_views
    from skeletons.units import update as update_unit

    views = _library(load_views, dest)
    if not views:
        raise CliError(f"{dest} holds no rendered template (no .skeletons/*.lock.yaml)", exit_code=3)
    chosen = unit or sorted(views, key=lambda name: (name != ROOT_UNIT, name))
    answers = parse_vars(var)
    known = {name for u in chosen if u in views for name in views[u].template.manifest.variables}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise CliError(f"no unit to update has a variable {', '.join(unknown)}", exit_code=EXIT_USAGE)
    files: list[dict[str, Any]] = []
    for name in chosen:
        manifest = views[name].template.manifest if name in views else None
        given = {k: v for k, v in answers.items() if manifest is None or k in manifest.variables}
        result = _library(update_unit, dest, name, given, force=force, dry_run=dry_run)
        files += [{**f, "unit": name} for f in result["files"]]
        files += [{**k, "unit": name, "ownership": "-"} for k in result["kept"]]
        if result["from_version"] != result["to_version"]:
            info(f"{name}: {result['template']} {result['from_version']} -> {result['to_version']}")
    emit(files, ("unit", "path", "action", "reason"), name_key="path")
    info("dry run: nothing written" if dry_run else f"updated {len(chosen)} unit(s)")


@app.command("check")
def check(dest: Dest) -> None:
    """Units behind their template and files edited by hand (exit 1 when any; for CI)."""
    from skeletons.units import check as check_units
    from skeletons.units import units

    if not units(dest):
        raise CliError(f"{dest} holds no rendered template (no .skeletons/*.lock.yaml)", exit_code=3)
    findings = _library(check_units, dest)
    emit(findings, ("unit", "path", "problem"), name_key="path")
    if findings:
        info(f"{len(findings)} problem(s): run `rdev templates update {dest}` (edited files are kept)")
        raise typer.Exit(1)
    info("up to date")
