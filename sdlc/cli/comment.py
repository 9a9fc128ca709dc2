"""`sdlc comment ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Comments on a feature, task or artifact; blocker and question flags stop the pipeline."
app = typer.Typer()
Slug = Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]
CommentId = Annotated[str, typer.Argument(help="Comment id, e.g. C1.", metavar="ID")]
By = Annotated[str | None, typer.Option("--by", help="Author (default: SDLC_ACTOR, git user).")]


def _text(c: dict[str, Any]) -> str:
    flag = f" [{c['flag']}]" if c.get("flag") else ""
    resolved = " (resolved)" if c.get("resolved_at") else ""
    target = c["target"]
    on = {
        "feature": "",
        "task": f" on {target.get('task_id')}",
        "artifact": f" on {target.get('artifact_type')}",
    }
    return f"[{c['id']}]{flag}{on.get(target['kind'], '')} {c.get('author') or '-'}: {c['body']}{resolved}"


@app.command("create")
def create(
    slug: Slug,
    body: Annotated[str, typer.Argument(help="The comment.", metavar="BODY")],
    task: Annotated[str | None, typer.Option("--task", help="On this task.")] = None,
    artifact: Annotated[str | None, typer.Option("--artifact", help="On this artifact.")] = None,
    flag: Annotated[str | None, typer.Option("--flag", help="blocker, question, decision or fyi.")] = None,
    by: By = None,
) -> None:
    """Add a comment; prints its id."""
    from sdlc.ops.comments import create_comment

    result = create_comment(out.store(), out.actor(by), slug, body, task, artifact, flag, by)
    out.emit(result, result["comment"]["id"] + out.hops_line(result))


@app.command("list")
def list_(
    slug: Slug,
    task: Annotated[str | None, typer.Option("--task", help="Only comments on this task.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved comments.")] = False,
) -> None:
    """Unresolved comments (all with --all)."""
    from sdlc.ops.comments import list_comments

    rows = list_comments(out.store(), slug, task, all_)
    out.emit(rows, lambda r: "\n".join(map(_text, r)) or "No comments")


@app.command("resolve")
def resolve(slug: Slug, comment_id: CommentId, by: By = None) -> None:
    """Mark a comment resolved (it is kept)."""
    from sdlc.ops.comments import resolve_comment

    result = resolve_comment(out.store(), out.actor(by), slug, comment_id, by)
    out.emit(result, f"Resolved comment [{comment_id}]" + out.hops_line(result))


@app.command("remove")
def remove(slug: Slug, comment_id: CommentId, by: By = None) -> None:
    """Delete a comment outright."""
    from sdlc.ops.comments import remove_comment

    result = remove_comment(out.store(), out.actor(by), slug, comment_id)
    out.emit(result, f"Removed comment [{comment_id}]" + out.hops_line(result))
