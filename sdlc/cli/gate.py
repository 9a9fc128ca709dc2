"""`sdlc gate`: gates of an action: list, run, pass (spec/sdlc.md §9)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Gates of an action: list, run, pass (spec/sdlc.md §9)."
app = typer.Typer(no_args_is_help=True)
Slug = Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]


def _list_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No gates configured"
    return out.table(
        [
            (
                g["action"],
                g["name"],
                g["type"],
                g["command"] or g["prompt"],
                g["max_retries"],
                g["timeout_seconds"],
            )
            for g in rows
        ],
        ["ACTION", "GATE", "TYPE", "COMMAND/PROMPT", "RETRIES", "TIMEOUT_S"],
    )


@app.command("list")
def list_(
    action: Annotated[
        str | None, typer.Argument(help="Only the gates of this action.", metavar="ACTION")
    ] = None,
) -> None:
    """The configured gates (of ACTION)."""
    from sdlc.executor import list_gates

    out.emit(list_gates(out.store(), action), _list_text)


@app.command("run")
def run(
    slug: Slug,
    action: Annotated[
        str | None, typer.Option("--action", help="Run this action's gates instead of the current action's.")
    ] = None,
) -> None:
    """Run the gates of the feature's current action. Exit 3 a human gate waits, 4 a gate failed."""
    from sdlc.cli.run import progress, result_text
    from sdlc.executor import run_gates

    result = run_gates(out.store(), slug, out.actor(), action, progress)
    out.emit(result, result_text)
    if result["exit_code"]:
        raise typer.Exit(result["exit_code"])


@app.command("pass")
def pass_(
    slug: Slug,
    gate: Annotated[str, typer.Argument(help="The human gate's name.", metavar="GATE")],
    by: Annotated[str, typer.Option("--by", help="Who passes it.")],
) -> None:
    """Record a human's pass of a gate on the feature's current step (refused for agents)."""
    from sdlc.executor import pass_gate

    result = pass_gate(out.store(), slug, gate, out.actor(by))
    verb = "Passed" if result["changed"] else "Already passed:"
    out.emit(
        result,
        f"{verb} gate '{gate}' of {result['action']} (step {result['run_id']}) by {result['passed_by']}",
    )
