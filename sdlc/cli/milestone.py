"""`sdlc milestone ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Group features into ordered milestones and release them."
app = typer.Typer()
Slug = Annotated[str, typer.Argument(help="Milestone slug.", metavar="MILESTONE")]
Feature = Annotated[str, typer.Argument(help="Feature slug.", metavar="FEATURE")]
By = Annotated[str | None, typer.Option("--by", help="Who is acting.")]


def _text(m: dict[str, Any]) -> str:
    lines = [f"{m['slug']}: {m['title']} ({m['status']})"]
    if m.get("vision"):
        lines.append(f"  vision: {m['vision']}")
    lines += [f"  {i}. {f}" for i, f in enumerate(m["features"], 1)]
    return "\n".join(lines)


@app.command("create")
def create(
    slug: Slug,
    title: Annotated[str, typer.Option("--title", help="Milestone title.")],
    feature: Annotated[
        list[str] | None, typer.Option("--feature", help="Member feature; repeatable.")
    ] = None,
    by: By = None,
) -> None:
    """Create a milestone."""
    from sdlc.ops.milestones import create_milestone

    result = create_milestone(out.store(), out.actor(by), slug, title, feature)
    out.emit(result, f"Created milestone '{slug}'")


@app.command("list")
def list_() -> None:
    """Every milestone with its derived status."""
    from sdlc.ops.milestones import list_milestones

    rows, warnings = list_milestones(out.store())
    out.warnings(warnings)
    out.emit(
        rows,
        lambda r: (
            out.table(
                [(m["slug"], m["status"], len(m["features"]), m["title"]) for m in r],
                ["SLUG", "STATUS", "FEATURES", "TITLE"],
            )
            if r
            else "No milestones"
        ),
    )


@app.command("info")
def info(slug: Slug) -> None:
    """One milestone."""
    from sdlc.ops.milestones import info as get

    out.emit(get(out.store(), slug), _text)


@app.command("tasks")
def tasks(slug: Slug) -> None:
    """Every task of the milestone's features, in milestone order."""
    from sdlc.ops.milestones import info as get
    from sdlc.ops.tasks import list_tasks

    store = out.store()
    rows = [t for f in get(store, slug)["features"] for t in list_tasks(store, f)]
    out.emit(
        rows,
        lambda r: (
            "\n".join(f"{t['feature']} {t['id']} [{t['status']}] {t['title']}" for t in r) or "No tasks"
        ),
    )


@app.command("review")
def review(slug: Slug) -> None:
    """Where each member feature stands and what it needs next."""
    from sdlc.ops.lookup import next_for
    from sdlc.ops.milestones import info as get

    store = out.store()
    milestone = get(store, slug)
    rows = [next_for(store, f).decode() for f in milestone["features"]]
    data = {**milestone, "review": rows}
    out.emit(
        data,
        lambda d: (
            _text(d)
            + "\n"
            + "\n".join(f"  {c['feature']}: {c['current_phase']} → {c['action']}" for c in d["review"])
        ),
    )


@app.command("add-feature")
def add_feature(
    slug: Slug,
    feature: Feature,
    position: Annotated[int | None, typer.Option("--position", min=1, help="1-based position.")] = None,
    by: By = None,
) -> None:
    """Add (or move) a feature in the milestone."""
    from sdlc.ops.milestones import add_feature as add

    result = add(out.store(), out.actor(by), slug, feature, position)
    out.emit(result, f"Added feature '{feature}' to milestone '{slug}'")


@app.command("remove-feature")
def remove_feature(slug: Slug, feature: Feature, by: By = None) -> None:
    """Take a feature out of the milestone."""
    from sdlc.ops.milestones import remove_feature as remove

    result = remove(out.store(), out.actor(by), slug, feature)
    out.emit(result, f"Removed feature '{feature}' from milestone '{slug}'")


@app.command("reorder")
def reorder(
    slug: Slug,
    features: Annotated[list[str], typer.Argument(help="Every member, in the new order.", metavar="SLUG...")],
    by: By = None,
) -> None:
    """Set the order of the milestone's features."""
    from sdlc.ops.milestones import reorder as set_order

    out.emit(set_order(out.store(), out.actor(by), slug, features), _text)


@app.command("update")
def update(
    slug: Slug,
    title: Annotated[str | None, typer.Option("--title")] = None,
    vision: Annotated[str | None, typer.Option("--vision")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    by: By = None,
) -> None:
    """Change title, vision or description."""
    from sdlc.ops.milestones import update as change

    out.emit(change(out.store(), out.actor(by), slug, title, vision, description), _text)


def _release(slug: str, force: bool, by: str | None) -> None:
    from sdlc.ops.milestones import release as do_release

    result = do_release(out.store(), out.actor(by), slug, force)
    out.emit(result, f"milestone '{slug}' marked complete")


def _skip(slug: str, by: str | None) -> None:
    from sdlc.ops.milestones import skip as do_skip

    result = do_skip(out.store(), out.actor(by), slug)
    out.emit(result, f"milestone '{slug}' cancelled")


ForceRelease = Annotated[bool, typer.Option("--force", help="Release with unreleased features.")]


@app.command("release")
def release(slug: Slug, force: ForceRelease = False, by: By = None) -> None:
    """Mark the milestone released (refused while a member is unreleased)."""
    _release(slug, force, by)


@app.command("complete")
def complete(slug: Slug, force: ForceRelease = False, by: By = None) -> None:
    """Alias of release."""
    _release(slug, force, by)


@app.command("skip")
def skip(slug: Slug, by: By = None) -> None:
    """Mark the milestone skipped."""
    _skip(slug, by)


@app.command("cancel")
def cancel(slug: Slug, by: By = None) -> None:
    """Alias of skip."""
    _skip(slug, by)
