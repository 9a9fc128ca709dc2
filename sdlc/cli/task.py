"""`sdlc task ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Add, move, edit, list and search the tasks of a feature."
app = typer.Typer()
Slug = Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]
TaskId = Annotated[str, typer.Argument(help="Task id, e.g. T1.", metavar="ID")]
By = Annotated[str | None, typer.Option("--by", help="Who is acting (default: SDLC_ACTOR, git user).")]
Force = Annotated[bool, typer.Option("--force", help="Allow it in review or later.")]


def _task_text(t: dict[str, Any]) -> str:
    deps = f" (after {', '.join(t['depends_on'])})" if t.get("depends_on") else ""
    blocker = f" — blocked: {t['blocker']}" if t.get("blocker") else ""
    return f"{t['id']} [{t['status']}] {t['title']}{deps}{blocker}"


def _split_ids(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


@app.command("add")
def add(
    slug: Slug,
    title: Annotated[list[str], typer.Argument(help="Task title.", metavar="TITLE...")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    depends: Annotated[str | None, typer.Option("--depends", help="Comma-separated task ids.")] = None,
    force: Force = False,
    by: By = None,
) -> None:
    """Add a task; prints its id."""
    from sdlc.ops.tasks import add_task

    result = add_task(
        out.store(), out.actor(by), slug, " ".join(title), description, _split_ids(depends), force
    )
    out.emit(result, result["task"]["id"] + out.hops_line(result))


def _move(
    slug: str,
    task_id: str,
    move: str,
    by: str | None,
    reason: str | None = None,
    force: bool = False,
) -> None:
    from sdlc.ops.tasks import move_task

    result = move_task(out.store(), out.actor(by), slug, task_id, move, reason, force)
    out.emit(result, _task_text(result["task"]) + out.hops_line(result))


@app.command("start")
def start(slug: Slug, task_id: TaskId, by: By = None) -> None:
    """pending → in_progress"""
    _move(slug, task_id, "start", by)


@app.command("complete")
def complete(slug: Slug, task_id: TaskId, by: By = None) -> None:
    """pending or in_progress → completed"""
    _move(slug, task_id, "complete", by)


@app.command("block")
def block(
    slug: Slug,
    task_id: TaskId,
    reason: Annotated[list[str], typer.Argument(help="Why.", metavar="REASON...")],
    by: By = None,
) -> None:
    """pending or in_progress → blocked, with the reason"""
    _move(slug, task_id, "block", by, " ".join(reason))


@app.command("unblock")
def unblock(slug: Slug, task_id: TaskId, by: By = None) -> None:
    """blocked → pending"""
    _move(slug, task_id, "unblock", by)


@app.command("reopen")
def reopen(slug: Slug, task_id: TaskId, force: Force = False, by: By = None) -> None:
    """completed → pending"""
    _move(slug, task_id, "reopen", by, force=force)


@app.command("remove")
def remove(slug: Slug, task_id: TaskId, by: By = None) -> None:
    """Delete a task no other task depends on."""
    from sdlc.ops.tasks import remove_task

    result = remove_task(out.store(), out.actor(by), slug, task_id)
    out.emit(result, f"Removed task {task_id}" + out.hops_line(result))


@app.command("edit")
def edit(
    slug: Slug,
    task_id: TaskId,
    title: Annotated[str | None, typer.Option("--title")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    depends: Annotated[
        str | None, typer.Option("--depends", help="Comma-separated task ids; empty clears.")
    ] = None,
    by: By = None,
) -> None:
    """Change a task's title, description or dependencies."""
    from sdlc.ops.tasks import edit_task

    result = edit_task(out.store(), out.actor(by), slug, task_id, title, description, _split_ids(depends))
    out.emit(result, _task_text(result["task"]))


@app.command("get")
def get(slug: Slug, task_id: TaskId) -> None:
    """One task."""
    from sdlc.ops.tasks import get_task

    out.emit(get_task(out.store(), slug, task_id), _task_text)


@app.command("list")
def list_(
    slug: Annotated[
        str | None, typer.Argument(help="Feature slug (default: every feature).", metavar="[SLUG]")
    ] = None,
) -> None:
    """Tasks of a feature, or of every active feature."""
    from sdlc.ops.tasks import list_tasks

    store = out.store()
    if slug is not None:
        rows = list_tasks(store, slug)
    else:
        from sdlc.ops.queries import search_tasks

        rows, warnings = search_tasks(store, "", None, 10**9)
        out.warnings(warnings)
    out.emit(rows, lambda r: "\n".join(f"{t['feature']} {_task_text(t)}" for t in r) or "No tasks")


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Text to find in titles and descriptions.", metavar="QUERY")],
    slug: Annotated[str | None, typer.Option("--slug", help="Only this feature.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
) -> None:
    """Find tasks by text."""
    from sdlc.ops.queries import search_tasks

    rows, warnings = search_tasks(out.store(), query, slug, limit)
    out.warnings(warnings)
    out.emit(rows, lambda r: "\n".join(f"{t['feature']} {_task_text(t)}" for t in r) or "No tasks found")
