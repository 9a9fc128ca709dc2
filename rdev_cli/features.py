"""`rdev features`: a project's sdlc lifecycle over the API (spec/sdlc.md): list, get, next
(the classifier's instruction: what comes next and who acts), create, run (an `sdlc` work
item looping until a human must act), approve and reject an artifact."""

from __future__ import annotations

import shlex
from typing import Annotated, Any

import typer

from rdev_cli.common import WaitTimeout, api, command
from rdev_cli.output import emit, info, structured, table_mode, write
from rdev_cli.work import COLUMNS as WORK_COLUMNS
from rdev_cli.work import WAIT_HELP, require_success, wait_for_item

app = typer.Typer(no_args_is_help=True)

COLUMNS = ("slug", "title", "phase", "tasks_done", "open_comments", "updated_at")
WIDE = ("blockers", "dependencies", "created_at")
NEXT_COLUMNS = ("feature", "current_phase", "action", "message", "next_command")
MOVED_COLUMNS = ("feature", "phase", "artifact_type", "artifact_status", "changed", "transitioned")
PAST = {"approve": "approved", "reject": "rejected"}
ARTIFACT_COLUMNS = ("artifact_type", "status", "approved_by", "approved_at", "rejection_reason")

Project = Annotated[str, typer.Argument(help="The project's id.", show_default=False)]
Slug = Annotated[str, typer.Argument(help="The feature's slug.", show_default=False)]
Artifact = Annotated[
    str, typer.Argument(help="The artifact type: spec, design, tasks, qa_plan, review, audit, qa_results.")
]
By = Annotated[str, typer.Option("--by", help="Who decides (your name: it is recorded).", show_default=False)]


def _base(project: str, slug: str | None = None) -> str:
    return f"/projects/{project}/features" + (f"/{slug}" if slug else "")


def _args(*words: str) -> str:
    return " ".join(map(shlex.quote, words))


def _who(action: str) -> str | None:
    """Who acts on `action` (agent, human, sdlc, none), from sdlc's action table."""
    from sdlc.lifecycle import ACTIONS

    spec = ACTIONS.get(action)
    return spec.by if spec else None


def instruction(project: str, step: dict[str, Any]) -> list[str]:
    """The classifier's answer for a person: what comes next, who acts, the command to do it."""
    action, slug = step["action"], step["feature"]
    who = _who(action)
    head = f"{slug} ({step['current_phase']}): {action}"
    lines = [head + {"human": " (a human acts)", "agent": " (an agent acts)"}.get(who or "", "")]
    lines.append(f"  {step['message']}")
    if step.get("output_path"):
        lines.append(f"  output: {step['output_path']}")
    for gate in step.get("gates") or []:
        lines.append(f"  gate: {gate['name']} ({gate['type']})")
    p, s = shlex.quote(project), shlex.quote(slug)
    if action == "done":
        return lines
    if who == "human" and action.startswith("approve_") and step.get("artifact"):
        artifact = shlex.quote(step["artifact"])
        lines.append(f"  approve: rdev features approve {p} {s} {artifact} --by NAME")
        lines.append(f'  reject:  rdev features reject {p} {s} {artifact} --by NAME --reason "why"')
    elif who in ("agent", "sdlc"):
        lines.append(f"  run it:  rdev features run {p} {s} --wait")
    elif step.get("next_command"):  # a human looks at something in the workspace
        lines.append(f"  look:    rdev exec {p} -- {step['next_command']}")
    return lines


@command(app, "list", "ls")
def list_features(
    project: Project,
    phase: Annotated[str | None, typer.Option("--phase", help="Only features in this phase.")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived features.")] = False,
) -> None:
    """The project's features in creation order."""
    params = {"phase": phase, "archived": "true" if archived else None}
    with api() as client:
        features = client.get(_base(project), params=params)
    if structured():
        emit(features, COLUMNS, wide=WIDE, name_key="slug")
        return
    rows = [{**f, "tasks_done": _tasks(f.get("tasks"))} for f in features]
    emit(rows, COLUMNS, wide=WIDE, name_key="slug")


def _tasks(tasks: Any) -> str:
    if not isinstance(tasks, dict) or not tasks.get("total"):
        return "-"
    return f"{tasks.get('completed', 0)}/{tasks['total']}"


@app.command("get")
def get(project: Project, slug: Slug) -> None:
    """A feature's manifest: phase, artifacts, tasks (all of it with -o json)."""
    with api() as client:
        feature = client.get(_base(project, slug))
    if not table_mode():
        emit(feature, ("slug", "title", "phase", "updated_at"), name_key="slug")
        return
    write(f"{feature['slug']}: {feature['title']} ({feature['phase']})")
    if feature.get("description"):
        write(f"  {feature['description']}")
    emit(feature.get("artifacts") or [], ARTIFACT_COLUMNS)
    tasks = feature.get("tasks") or []
    if tasks:
        emit(tasks, ("id", "title", "status", "depends_on"))
    info(f"Hint: what comes next: rdev features next {_args(project, slug)}")


@app.command("next")
def next_step(project: Project, slug: Slug) -> None:
    """What the feature needs next, who acts, and the command to do it."""
    with api() as client:
        step = client.get(f"{_base(project, slug)}/next")
    if table_mode():
        for line in instruction(project, step):
            write(line)
    else:
        emit(step, NEXT_COLUMNS, name_key="action")


@app.command("create")
def create(
    project: Project,
    slug: Annotated[
        str, typer.Argument(help="The new feature's slug (lowercase, dashes).", show_default=False)
    ],
    title: Annotated[str | None, typer.Option("--title", help="Default: from the slug.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="What it is about.")] = None,
) -> None:
    """Create a feature (in draft)."""
    body = {
        k: v for k, v in (("slug", slug), ("title", title), ("description", description)) if v is not None
    }
    with api() as client:
        feature = client.post(_base(project), body)
    emit(feature, ("slug", "title", "phase"), name_key="slug")
    info(f"created feature {slug} in {project}; next: rdev features next {_args(project, slug)}")


@app.command("run")
def run(
    project: Project,
    slug: Slug,
    max_steps: Annotated[
        int | None,
        typer.Option("--max-steps", min=1, max=1000, help="Most steps the loop takes (default 50)."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", "-w", help=WAIT_HELP)] = False,
    timeout: WaitTimeout = None,
) -> None:
    """Queue `sdlc run SLUG --loop` in the project as a work item; it stops when a human must act."""
    body = {"max_steps": max_steps} if max_steps is not None else {}
    wait = wait or timeout is not None
    with api() as client:
        item = client.post(f"{_base(project, slug)}/run", body)
        info(f"queued work item {item['id']}: sdlc run {slug}")
        if not wait:
            emit(item, WORK_COLUMNS, name_key="id")
            info(f"Hint: wait for it with `rdev work wait {item['id']}`")
            return
        item = wait_for_item(client, item["id"], timeout)
        emit(item, WORK_COLUMNS, name_key="id")
        require_success(item)
        step = client.get(f"{_base(project, slug)}/next")
    result = item.get("result") or {}
    said = "the run stopped: a human must act" if result.get("human_action_required") else "the run ended"
    info(f"{said}; next:")
    for line in instruction(project, step):
        info(line)


def _move(project: str, slug: str, artifact: str, move: str, by: str, reason: str | None) -> None:
    body = {"by": by, **({"reason": reason} if reason is not None else {})}
    with api() as client:
        moved = client.post(f"{_base(project, slug)}/artifacts/{artifact}/{move}", body)
    if structured():
        emit(moved, MOVED_COLUMNS, name_key="feature")
    else:
        art = moved.get("artifact") or {}
        emit(
            {
                **moved,
                "artifact_type": art.get("artifact_type", artifact),
                "artifact_status": art.get("status"),
            },
            MOVED_COLUMNS,
            name_key="feature",
        )
    past = PAST[move]
    done = f"{past} {artifact} of {slug}" if moved["changed"] else f"{artifact} of {slug} was already {past}"
    hops = f"; phase now {moved['phase']}" if moved.get("transitioned") else ""
    info(f"{done}{hops}; next: rdev features next {_args(project, slug)}")


@app.command("approve")
def approve(project: Project, slug: Slug, artifact: Artifact, by: By) -> None:
    """A human approves an artifact of the feature."""
    _move(project, slug, artifact, "approve", by, None)


@app.command("reject")
def reject(
    project: Project,
    slug: Slug,
    artifact: Artifact,
    by: By,
    reason: Annotated[str | None, typer.Option("--reason", "-r", help="Why: the agent reads it.")] = None,
) -> None:
    """A human rejects an artifact of the feature, with the reason."""
    _move(project, slug, artifact, "reject", by, reason)
