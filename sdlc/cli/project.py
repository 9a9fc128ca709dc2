"""`sdlc project ...`"""

from __future__ import annotations

from typing import Any

import typer

from sdlc.cli import output as out

HELP = "Project-wide status, statistics and blockers."
app = typer.Typer()


@app.command("status")
def status() -> None:
    """Features by phase and what each active one needs."""
    from sdlc.ops.queries import state_view

    view, warnings = state_view(out.store())
    out.warnings(warnings)

    def text(v: dict[str, Any]) -> str:
        counts = ", ".join(f"{p} {n}" for p, n in v["features"]["by_phase"].items() if n)
        active = len(v["active_features"])
        return f"Project: {v['project']}\nActive features: {active}\nBy phase: {counts or 'none'}"

    out.emit(view, text)


@app.command("stats")
def stats() -> None:
    """Counts of features, tasks, actions and open comments."""
    from sdlc.ops.queries import project_stats

    data, warnings = project_stats(out.store())
    out.warnings(warnings)
    out.emit(data, lambda d: "\n".join(f"{k}: {v}" for k, v in d.items()))


@app.command("blockers")
def blockers() -> None:
    """Every feature blocker, blocked task and blocking comment."""
    from sdlc.ops.queries import query

    rows, warnings = query(out.store(), "blocked")
    out.warnings(warnings)
    out.emit(
        rows,
        lambda r: "\n".join(f"{c['feature']}: {c['message']}" for c in r) or "No blocked features",
    )
