"""`sdlc query ...`"""

from __future__ import annotations

from typing import Annotated

import typer

from sdlc.cli import output as out

HELP = "Cross-feature queries: blocked, ready, needs-approval, search."
app = typer.Typer()


def _run(which: str, empty: str) -> None:
    from sdlc.ops.queries import query

    rows, warnings = query(out.store(), which)
    out.warnings(warnings)
    out.emit(rows, lambda r: "\n".join(map(out.classification_text, r)) or empty)


@app.command("blocked")
def blocked() -> None:
    """Features waiting on a blocker, a blocked task or a blocker comment."""
    _run("blocked", "No blocked features")


@app.command("ready")
def ready() -> None:
    """Features whose next action is an agent's."""
    _run("ready", "No features ready for an agent")


@app.command("needs-approval")
def needs_approval() -> None:
    """Features waiting for a human approval."""
    _run("needs-approval", "No features need approval")


@app.command("search")
def search(
    text: Annotated[
        str, typer.Argument(help="Text to find in slugs, titles and descriptions.", metavar="QUERY")
    ],
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
) -> None:
    """Find features by text."""
    from sdlc.ops.queries import search as find

    rows, warnings = find(out.store(), text, limit)
    out.warnings(warnings)
    out.emit(
        rows,
        lambda r: out.table([(s["slug"], s["phase"], s["title"]) for s in r]) or "No features found",
    )
