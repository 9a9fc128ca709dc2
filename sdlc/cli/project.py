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

    def text(d: dict[str, Any]) -> str:
        features, tasks = d["features"], d["tasks"]
        phases = ", ".join(f"{p} {n}" for p, n in features["by_phase"].items() if n) or "none"
        task_counts = ", ".join(f"{k} {v}" for k, v in tasks.items() if k != "total" and v)
        actions = ", ".join(f"{a} {n}" for a, n in d["actions"].items()) or "none"
        return "\n".join(
            [
                f"Features: {features['total']} ({features['archived']} archived)",
                f"By phase: {phases}",
                f"Tasks: {tasks['total']}" + (f" ({task_counts})" if task_counts else ""),
                f"Next actions: {actions}",
                f"Open blocker comments: {d['open_comments']}",
            ]
        )

    out.emit(data, text)


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
