"""`sdlc artifact ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Record artifact moves: draft, approve, reject, pass, fail, waive, unwaive, status."
app = typer.Typer()
Slug = Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]
Type = Annotated[
    str, typer.Argument(help="spec, design, tasks, qa_plan, review, audit or qa_results.", metavar="TYPE")
]
By = Annotated[str | None, typer.Option("--by", help="Who is acting (default: SDLC_ACTOR, git user).")]
Reason = Annotated[str | None, typer.Option("--reason")]
PAST = {
    "draft": "Drafted",
    "approve": "Approved",
    "reject": "Rejected",
    "pass": "Passed",
    "fail": "Failed",
    "waive": "Waived",
    "unwaive": "Unwaived",
}


def _move(
    slug: str,
    kind: str,
    move: str,
    by: str | None,
    reason: str | None = None,
    needs_fix: bool = False,
) -> None:
    from sdlc.ops.artifacts import move_artifact

    result = move_artifact(out.store(), out.actor(by), slug, kind, move, by, reason, needs_fix)
    art = result["artifact"]
    verb = PAST[move] if result["changed"] else "Unchanged:"
    out.emit(
        result,
        f"{verb} artifact '{art['artifact_type']}' of '{slug}' ({art['status']})" + out.hops_line(result),
    )


@app.command("draft")
def draft(slug: Slug, kind: Type, by: By = None) -> None:
    """Record that the artifact's file was written or rewritten."""
    _move(slug, kind, "draft", by)


@app.command("approve")
def approve(slug: Slug, kind: Type, by: By = None) -> None:
    """Approve a drafted artifact (humans only)."""
    _move(slug, kind, "approve", by)


@app.command("reject")
def reject(
    slug: Slug,
    kind: Type,
    reason: Reason = None,
    needs_fix: Annotated[
        bool, typer.Option("--needs-fix", help="Mark it needs_fix instead of rejected.")
    ] = False,
    by: By = None,
) -> None:
    """Reject an artifact; the agent rewrites it."""
    _move(slug, kind, "reject", by, reason, needs_fix)


@app.command("pass")
def pass_(slug: Slug, kind: Type, by: By = None) -> None:
    """Record that a mechanical check passed (e.g. a QA run)."""
    _move(slug, kind, "pass", by)


@app.command("fail")
def fail(slug: Slug, kind: Type, reason: Reason = None, by: By = None) -> None:
    """Record that a mechanical check failed (needs --reason)."""
    _move(slug, kind, "fail", by, reason)


@app.command("waive")
def waive(slug: Slug, kind: Type, reason: Reason = None, by: By = None) -> None:
    """Waive an artifact (needs --reason; humans only)."""
    _move(slug, kind, "waive", by, reason)


@app.command("unwaive")
def unwaive(slug: Slug, kind: Type, by: By = None) -> None:
    """Undo a waiver."""
    _move(slug, kind, "unwaive", by)


@app.command("status")
def status(slug: Slug) -> None:
    """Every artifact of a feature with its status and freshness."""
    from sdlc.ops.artifacts import artifact_status

    rows = artifact_status(out.store(), slug)

    def text(r: list[dict[str, Any]]) -> str:
        return out.table(
            [(a["artifact_type"], a["status"], a["condition"], a["path"]) for a in r],
            ["ARTIFACT", "STATUS", "CONDITION", "PATH"],
        )

    out.emit(rows, text)
