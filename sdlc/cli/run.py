"""`sdlc run`: the executor (spec/sdlc.md §9)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out


def step_text(step: dict[str, Any]) -> str:
    what = step["action"] + (f" {step['task_id']}" if step.get("task_id") else "")
    how = f" via {step['backend']['type']}, exit code {step['exit_code']}" if step.get("backend") else ""
    lines = [f"[{step['id']}] {what}: {step['status']} ({step['duration_ms'] / 1000:.1f} s{how})"]
    for gate in step["gates"]:
        tries = (
            f" after {gate['attempts']} attempt(s)" if gate["type"] == "shell" and gate["attempts"] else ""
        )
        lines.append(f"  gate {gate['name']} ({gate['type']}): {gate['status']}{tries}")
    if step["status"] not in ("ok", "waiting_human") and step["output_tail"]:
        lines.append("  output (last lines):")
        lines += [f"    {line}" for line in step["output_tail"].rstrip().splitlines()[-10:]]
    return "\n".join(lines)


def plan_text(plan: dict[str, Any]) -> str:
    lines = [f"would run: {plan['command']}"]
    if plan["backend"]:
        lines.append(f"  backend: {plan['backend']['type']}, timeout {plan['timeout_seconds']:g} s")
        lines.append(f"  (<prompt> is the {len(plan['prompt'])}-character prompt; --json shows it)")
    for gate in plan["gates"]:
        detail = gate["command"] if gate["type"] == "shell" else gate["prompt"] or "a human passes it"
        lines.append(f"  then gate {gate['name']} ({gate['type']}): {detail}")
    return "\n".join(lines)


def result_text(result: dict[str, Any]) -> str:
    """The steps taken, then why it stopped and what comes next."""
    lines = [step_text(step) for step in result["steps"]]
    if result["plan"]:
        lines.append(plan_text(result["plan"]))
    else:
        lines.append(result["message"])
    if result["next_command"]:
        lines.append(f"  next: {result['next_command']}")
    return "\n".join(lines)


def progress(message: str) -> None:
    """Progress lines on stderr in text mode (stdout keeps the result)."""
    import sys

    if not out.OPTIONS.json:
        sys.stderr.write(f"sdlc: {message}\n")
        sys.stderr.flush()


def command(
    slug: Annotated[str, typer.Argument(help="The feature to run.", metavar="SLUG")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the command line and the gates; run nothing.")
    ] = False,
    loop: Annotated[
        bool, typer.Option("--loop", help="Repeat until done, a human action, a failure or --max-steps.")
    ] = False,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, help="Most steps --loop takes.")] = 50,
) -> None:
    """Run the next action of a feature: advance it, or run its agent and then its gates.

    Exit codes: 0 done or step succeeded; 3 a human must act; 4 a gate failed; 5 the agent
    failed or timed out; 6 --max-steps reached. The agent gets SDLC_AGENT=1. Its timeout is
    the backend's timeout_minutes, else the action's; SDLC_RUN_TIMEOUT_SECONDS overrides it.
    """
    from sdlc.executor import run_feature

    result = run_feature(
        out.store(), slug, out.actor(), loop=loop, max_steps=max_steps, dry_run=dry_run, progress=progress
    )
    out.emit(result, result_text)
    if result["exit_code"]:
        raise typer.Exit(result["exit_code"])
