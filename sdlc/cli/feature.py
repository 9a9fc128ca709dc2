"""`sdlc feature ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Create, list, show, update, transition, archive and block features."
app = typer.Typer()
Slug = Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]
By = Annotated[str | None, typer.Option("--by", help="Who is acting (default: SDLC_ACTOR, git user).")]


@app.command("create")
def create(
    slug: Slug,
    title: Annotated[str | None, typer.Option("--title")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    depends_on: Annotated[list[str] | None, typer.Option("--depends-on", help="Repeatable.")] = None,
    by: By = None,
) -> None:
    """Create a feature in draft."""
    from sdlc.ops.features import create_feature

    result = create_feature(out.store(), out.actor(by), slug, title, description, depends_on)
    out.emit(result, f"Created feature '{slug}'" + out.hops_line(result))


@app.command("list")
def list_(
    phase: Annotated[str | None, typer.Option("--phase", help="Only features in this phase.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include archived features.")] = False,
) -> None:
    """List features in creation order."""
    from sdlc.index import load_index
    from sdlc.lifecycle import PHASES

    if phase is not None and phase not in PHASES:
        raise typer.BadParameter(
            f"unknown phase '{phase}' (phases: {', '.join(PHASES)})", param_hint="--phase"
        )
    from sdlc.jsontext import JsonList

    index = load_index(out.store(), classify=False)
    out.warnings(index.warnings)
    rows = JsonList(
        e.summary_json
        for e in index.entries
        if (all_ or not e.archived) and (phase is None or e.phase == phase)
    )

    def text(summaries: list[dict[str, Any]]) -> str:
        rows = [
            (s["slug"], s["phase"] + (" (archived)" if s["archived"] else ""), s["title"]) for s in summaries
        ]
        return out.table(rows, ["SLUG", "PHASE", "TITLE"]) if rows else "No features"

    out.emit(rows, text)


def _show_text(f: dict[str, Any]) -> str:
    lines = [
        f"{f['slug']}: {f['title']}",
        f"  phase: {f['phase']}" + (" (archived)" if f["archived"] else ""),
    ]
    if f.get("description"):
        lines.append(f"  description: {f['description']}")
    if f["dependencies"]:
        lines.append(f"  depends on: {', '.join(f['dependencies'])}")
    lines += [f"  blocker: {b}" for b in f["blockers"]]
    lines.append("  artifacts: " + ", ".join(f"{a['artifact_type']}={a['status']}" for a in f["artifacts"]))
    lines += [f"  {t['id']} [{t['status']}] {t['title']}" for t in f["tasks"]]
    return "\n".join(lines)


@app.command("show")
def show(slug: Slug) -> None:
    """Everything about one feature."""
    from sdlc.ops.lookup import show_feature

    out.emit(show_feature(out.store(), slug), _show_text)


@app.command("update")
def update(
    slug: Slug,
    title: Annotated[str | None, typer.Option("--title")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    depends_on: Annotated[
        list[str] | None, typer.Option("--depends-on", help="Add a dependency; repeatable.")
    ] = None,
    clear_depends_on: Annotated[
        bool, typer.Option("--clear-depends-on", help="Drop every dependency first.")
    ] = False,
    by: By = None,
) -> None:
    """Change title, description or dependencies."""
    from sdlc.ops.features import update_feature

    result = update_feature(
        out.store(), out.actor(by), slug, title, description, depends_on, clear_depends_on
    )
    out.emit(result, f"Updated feature '{slug}'" + out.hops_line(result))


@app.command("transition")
def transition(
    slug: Slug,
    phase: Annotated[str, typer.Argument(help="Target phase.", metavar="PHASE")],
    force: Annotated[bool, typer.Option("--force", help="Skip the exit criteria (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    by: By = None,
) -> None:
    """Move a feature forward, checking every phase's exit criteria on the way."""
    from sdlc.ops.features import transition_feature

    result = transition_feature(out.store(), out.actor(by), slug, phase, force, reason)
    text = f"'{slug}' is in {result['phase']}" + out.hops_line(result)
    out.emit(result, text)


@app.command("archive")
def archive(slug: Slug, by: By = None) -> None:
    """Archive a feature: it counts as satisfied for its dependents."""
    from sdlc.ops.features import set_archived

    result = set_archived(out.store(), out.actor(by), slug, True)
    out.emit(result, f"Archived feature '{slug}'" + out.hops_line(result))


@app.command("unarchive")
def unarchive(slug: Slug, by: By = None) -> None:
    """Bring an archived feature back."""
    from sdlc.ops.features import set_archived

    result = set_archived(out.store(), out.actor(by), slug, False)
    out.emit(result, f"Unarchived feature '{slug}'" + out.hops_line(result))


@app.command("block")
def block(
    slug: Slug,
    reason: Annotated[list[str], typer.Argument(help="Why it is blocked.", metavar="REASON...")],
    by: By = None,
) -> None:
    """Add a blocker to a feature; the pipeline stops until it is removed."""
    from sdlc.ops.features import block_feature

    result = block_feature(out.store(), out.actor(by), slug, " ".join(reason))
    out.emit(result, f"Blocked feature '{slug}'")


@app.command("unblock")
def unblock(
    slug: Slug,
    all_: Annotated[bool, typer.Option("--all", help="Remove every blocker, not just the last.")] = False,
    by: By = None,
) -> None:
    """Remove the last blocker (or all of them)."""
    from sdlc.ops.features import unblock_feature

    result = unblock_feature(out.store(), out.actor(by), slug, all_)
    out.emit(result, f"Unblocked feature '{slug}'" + out.hops_line(result))
