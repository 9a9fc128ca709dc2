"""`sdlc config`: project config: show, validate, agent routing (spec/sdlc.md §6)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Project config: show, validate, agent routing (spec/sdlc.md §6)."
app = typer.Typer()
agent_app = typer.Typer()
app.add_typer(
    agent_app,
    name="agent",
    help="Which backend runs each action (agents.default, agents.actions). Changes rewrite "
    ".sdlc/config.yaml: every key is kept, comments are not.",
)

BackendType = Annotated[
    str, typer.Argument(help="claude, opencode, codex, xadk, shell or human.", metavar="TYPE")
]
Action = Annotated[str, typer.Argument(help="An action, e.g. create_spec.", metavar="ACTION")]
Model = Annotated[str | None, typer.Option("--model", help="Model name passed to the agent.")]
Command = Annotated[str | None, typer.Option("--command", help="shell: the command (prompt on stdin).")]
AgentId = Annotated[str | None, typer.Option("--agent-id", help="xadk: the agent to run.")]
Timeout = Annotated[int | None, typer.Option("--timeout-minutes", min=1, help="Overrides the action's.")]
Tools = Annotated[str | None, typer.Option("--allowed-tools", help="Comma-separated tool names (claude).")]
Permission = Annotated[str | None, typer.Option("--permission-mode", help="claude: e.g. acceptEdits.")]
By = Annotated[str | None, typer.Option("--by", help="Who is acting (default: SDLC_ACTOR, git user).")]


@app.command("show")
def show() -> None:
    """The effective config: file values over defaults, reference aliases normalised."""
    from sdlc import yamlio
    from sdlc.ops.config_ops import show as effective

    data = effective(out.store())
    out.emit(data, lambda d: yamlio.dumps(d).rstrip("\n"))


@app.command("validate")
def validate() -> None:
    """Report every problem of .sdlc/config.yaml with its key path; exit 1 when invalid."""
    from sdlc.ops.config_check import CONFIG_FILE
    from sdlc.ops.config_ops import validate as check

    result = check(out.store())

    def text(r: dict[str, Any]) -> str:
        lines = [f"{p['path'] or CONFIG_FILE}: {p['message']}" for p in r["problems"]]
        count = len(lines)
        lines.append(f"{CONFIG_FILE} is valid" if not count else f"{count} problem(s) in {CONFIG_FILE}")
        return "\n".join(lines)

    out.emit(result, text)
    if not result["valid"]:
        raise typer.Exit(1)


def _backend_text(backend: dict[str, Any]) -> str:
    extra = [f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in backend.items() if k != "type"]
    return " ".join([backend["type"], *extra])


def _routing_text(data: dict[str, Any]) -> str:
    rows = [
        [r["action"], _backend_text(r["backend"]), r["source"], r["timeout_minutes"]] for r in data["routes"]
    ]
    header = f"default: {_backend_text(data['default'])}"
    return header + "\n" + out.table(rows, ["action", "backend", "from", "minutes"])


def _fields(
    model: str | None,
    command: str | None,
    agent_id: str | None,
    timeout: int | None,
    tools: str | None,
    permission: str | None,
) -> dict[str, Any]:
    allowed = [t.strip() for t in tools.split(",") if t.strip()] if tools is not None else None
    return {
        "model": model,
        "command": command,
        "agent_id": agent_id,
        "allowed_tools": allowed,
        "permission_mode": permission,
        "timeout_minutes": timeout,
    }


def _changed_text(result: dict[str, Any], done: str) -> str:
    return done if result["changed"] else "No change"


@agent_app.command("show")
def agent_show() -> None:
    """The default backend, the routed actions, and who runs every action."""
    from sdlc.ops.config_ops import agent_show as view

    out.emit(view(out.store()), _routing_text)


@agent_app.command("set-default")
def set_default(
    kind: BackendType,
    model: Model = None,
    command: Command = None,
    agent_id: AgentId = None,
    timeout: Timeout = None,
    tools: Tools = None,
    permission: Permission = None,
    by: By = None,
) -> None:
    """Replace agents.default with TYPE and the given options."""
    from sdlc.ops.config_ops import set_default as change

    fields = _fields(model, command, agent_id, timeout, tools, permission)
    result = change(out.store(), out.actor(by), kind, fields)
    out.emit(result, lambda r: _changed_text(r, f"agents.default = {_backend_text(r['default'])}"))


@agent_app.command("set-action")
def set_action(
    action: Action,
    kind: BackendType,
    model: Model = None,
    command: Command = None,
    agent_id: AgentId = None,
    timeout: Timeout = None,
    tools: Tools = None,
    permission: Permission = None,
    by: By = None,
) -> None:
    """Route ACTION to a backend (human actions only to `human`)."""
    from sdlc.ops.config_ops import set_action as change

    fields = _fields(model, command, agent_id, timeout, tools, permission)
    result = change(out.store(), out.actor(by), action, kind, fields)
    out.emit(
        result,
        lambda r: _changed_text(r, f"agents.actions.{action} = {_backend_text(r['actions'][action])}"),
    )


@agent_app.command("reset")
def reset(
    action: Annotated[
        str | None, typer.Argument(help="The action whose routing to remove (default: all).")
    ] = None,
    by: By = None,
) -> None:
    """Remove ACTION's routing; without ACTION, every routing and the default (back to claude)."""
    from sdlc.ops.config_ops import reset as change

    result = change(out.store(), out.actor(by), action)
    done = f"Removed the routing of {action}" if action else "Reset agents to the default (claude)"
    out.emit(result, lambda r: _changed_text(r, done))
