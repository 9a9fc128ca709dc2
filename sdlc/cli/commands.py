"""`sdlc commands`: agent command files: install, update, check, list (spec/sdlc.md §8)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Agent command files: install, update, check, list (spec/sdlc.md §8)."
app = typer.Typer()
Agents = Annotated[
    list[str] | None,
    typer.Option(
        "--agent",
        help="claude, opencode, gemini, cursor, copilot or codex; repeatable or comma-separated "
        "(default: the agents in .sdlc/commands.lock, else claude).",
        show_default=False,
    ),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan; write nothing.")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite files edited or not written by sdlc.")]
SUMMARY = (("create", "created"), ("update", "updated"), ("remove", "removed"), ("keep", "kept"))


def _agents(values: list[str] | None) -> list[str] | None:
    from sdlc.ops.agent_commands import parse_agent_names

    return parse_agent_names(values) or None


def _plan_text(result: dict[str, Any]) -> str:
    changes = [f for f in result["files"] if f["action"] != "unchanged"]
    lines = [
        f"  {f['action']:<6} {f['path']}" + (f": {f['reason']}" if f.get("reason") else "") for f in changes
    ]
    counts = [(sum(f["action"] == action for f in changes), word) for action, word in SUMMARY]
    summary = ", ".join(f"{n} {word}" for n, word in counts if n)
    agents = ", ".join(result["agents"])
    if result["dry_run"]:
        head = f"Dry run ({agents}): " + (f"would be {summary}" if summary else "nothing to do")
        head += "; nothing written"
    else:
        head = f"Commands ({agents}): " + (summary or "up to date")
    return "\n".join([head, *lines])


def _apply(mode: str, agent: list[str] | None, dry_run: bool, force: bool) -> None:
    from sdlc.ops.agent_commands import apply_commands

    result = apply_commands(
        out.store(), _agents(agent), mode, force=force, dry_run=dry_run, actor=out.actor()
    )
    out.emit(result, _plan_text)


@app.command("install")
def install(agent: Agents = None, dry_run: DryRun = False, force: Force = False) -> None:
    """Write the command files that are missing (never overwrites a file sdlc did not write)."""
    _apply("install", agent, dry_run, force)


@app.command("update")
def update(agent: Agents = None, dry_run: DryRun = False, force: Force = False) -> None:
    """Rewrite unedited command files to the current version; edited ones are kept and reported."""
    _apply("update", agent, dry_run, force)


def _status_text(result: dict[str, Any], problems_only: bool) -> str:
    rows = [f for f in result["files"] if not problems_only or f["state"] != "ok"]
    lines = [out.table([(f["state"], f["agent"], f["path"]) for f in rows])] if rows else []
    if problems_only:
        if result["ok"]:
            lines.append(f"Command files up to date ({', '.join(result['agents'])})")
        else:
            lines.append(
                f"{len(rows)} command file(s) not up to date: run `sdlc commands update` "
                "(edited or untracked files: --force overwrites them)"
            )
    else:
        written = result["lock_version"] or "none"
        lines.insert(0, f"sdlc {result['sdlc_version']}; lock written by sdlc {written}")
    return "\n".join(lines)


@app.command("check")
def check(agent: Agents = None) -> None:
    """Exit 1 when a command file is missing, stale, edited or not written by sdlc."""
    from sdlc.ops.agent_commands import status

    result = status(out.store(), _agents(agent))
    out.emit(result, lambda r: _status_text(r, problems_only=True))
    if not result["ok"]:
        raise typer.Exit(1)


@app.command("list")
def list_(agent: Agents = None) -> None:
    """Every command file of the agents with its state."""
    from sdlc.ops.agent_commands import status

    out.emit(status(out.store(), _agents(agent)), lambda r: _status_text(r, problems_only=False))
