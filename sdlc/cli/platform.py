"""`sdlc platform`: platform commands from config: list, or run one (spec/sdlc.md §6).

`sdlc platform CMD [SUB] [ARGS...]` is any name configured under `platform.commands`: the
group hands every word after CMD to the script untouched (its own `--help` included). The
global `--json`, `-j` and `--root` are still taken by sdlc; put them after a `--` (sdlc drops
the first one) to give them to the script. The script owns stdin, stdout and stderr, and sdlc
exits with its exit code; with --json only sdlc's own errors (unknown command, bad arguments)
are JSON documents."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from sdlc.cli import output as out

HELP = "Platform commands from config: `platform list`, or `platform CMD [SUB] [ARGS...]` to run one."


def _run(name: str, words: list[str]) -> int:
    from sdlc.ops.platform import load_commands, resolve, run_script

    store = out.store()
    if "--" in words:  # the first `--` ends sdlc's global options; a later one is the script's
        words.remove("--")
    script, args = resolve(load_commands(store), name, words)
    return run_script(store.root, script, args)


class _PlatformRun(TyperCommand):
    """One configured command: takes its words as they are and exits with the script's code."""

    def __init__(self, name: str) -> None:
        super().__init__(name, help=f"Run the platform command '{name}'.", add_help_option=False)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["platform_words"] = list(args)
        return []

    def invoke(self, ctx: Any) -> Any:
        raise typer.Exit(_run(self.name or "", ctx.meta["platform_words"]))


class _PlatformGroup(TyperGroup):
    """`list`, plus any other word as a configured command (looked up when it runs)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        return found if found is not None else _PlatformRun(cmd_name)


app = typer.Typer(cls=_PlatformGroup)


def _arg_text(arg: dict[str, Any]) -> str:
    choices = f": {'|'.join(arg['choices'])}" if arg.get("choices") else ""
    return f"{arg['name']} ({'required' if arg['required'] else 'optional'}{choices})"


def _list_text(commands: list[dict[str, Any]]) -> str:
    from sdlc.ops.platform import NO_COMMANDS

    if not commands:
        return NO_COMMANDS
    lines = []
    for command in commands:
        lines.append(f"{command['name']}  {command['description']}".rstrip())
        if command["args"]:
            lines.append("  args: " + ", ".join(_arg_text(a) for a in command["args"]))
        if command["subcommands"]:
            lines.append("  subcommands: " + ", ".join(s["name"] for s in command["subcommands"]))
    return "\n".join(lines)


@app.command("list")
def list_() -> None:
    """The configured platform commands, their arguments and subcommands."""
    from sdlc.ops.platform import list_commands

    out.emit(list_commands(out.store()), _list_text)
