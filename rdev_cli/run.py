"""`rdev exec`, `rdev git`, `rdev agent` and `rdev claude`: start a command in a project and
follow its output to the end, exiting with the remote result (spec/rdev-cli.md "Streaming").

Output modes while following: text (default) writes the remote stdout and stderr to ours and
agent messages to stdout; `-o jsonl` writes every event as a JSON line {id, event, data} as it
comes; `-o json`/`-o yaml` write one document at the end: {command, end, stdout, stderr, agent}
(the finished command object, the `end` event, the collected output and agent events), so a
script can tell the remote exit code from rdev's own. The exit code is the same in every mode."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rdev_cli.common import api, pairs
from rdev_cli.errors import EXIT_CONFLICT, EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_USAGE, CliError
from rdev_cli.output import OPTIONS, emit, info, structured, write

if TYPE_CHECKING:
    from rdev_cli.client import Api

PROVIDERS = ("claude", "opencode")
COMMAND_COLUMNS = ("id", "project_id", "kind", "status", "exit_code", "created_at")

Project = Annotated[str, typer.Argument(help="The project's id.")]
Timeout = Annotated[
    int | None,
    typer.Option(
        "--timeout", min=1, max=86400, help="Remote timeout in seconds (default 600; then exit 124)."
    ),
]
Env = Annotated[list[str] | None, typer.Option("--env", "-e", help="An environment variable K=V (repeat).")]
Detach = Annotated[
    bool,
    typer.Option(
        "--detach",
        "-d",
        help="Print the command id and return; do not follow. (Following, -o jsonl prints each event "
        "as it comes and -o json one {command, end, stdout, stderr, agent} document at the end.)",
    ),
]


class Collector:
    """What `-o json`/`yaml` prints at the end: the output and agent events, collected."""

    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.agent: list[dict[str, Any]] = []

    def __call__(self, seq: int, event: str, data: dict[str, Any]) -> None:
        if event == "output":
            self.parts["stderr" if data.get("stream") == "stderr" else "stdout"].append(
                str(data.get("data", ""))
            )
        elif event == "agent":
            self.agent.append(data)


def _jsonl(seq: int, event: str, data: dict[str, Any]) -> None:
    write(json.dumps({"id": seq, "event": event, "data": data}, ensure_ascii=False))


def cancel(client: Api, command_id: str) -> None:
    """Cancel a remote command after Ctrl-C; one that already ended is fine."""
    try:
        client.post(f"/commands/{command_id}/cancel")
        info(f"interrupted: cancelled command {command_id}")
    except CliError as err:
        if err.exit_code == EXIT_CONFLICT:
            info(f"interrupted: command {command_id} had already finished")
        else:
            info(f"interrupted, but cancelling command {command_id} failed: {err.message}")
            info(f"Hint: rdev commands cancel {command_id}")


def follow(client: Api, command_id: str) -> int:
    """Follow a started command to its `end` in the chosen output mode; its local exit code.
    Ctrl-C cancels the remote command and exits 130."""
    from rdev_cli.stream import Follower, exit_code_of, print_output

    mode = OPTIONS.output
    collector = Collector()
    on_event = collector if mode in ("json", "yaml") else _jsonl if mode == "jsonl" else print_output
    try:
        end = Follower(client, command_id, on_event).run()
    except KeyboardInterrupt:
        cancel(client, command_id)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if mode in ("json", "yaml"):
        document = {
            "command": client.get(f"/commands/{command_id}"),
            "end": end,
            "stdout": "".join(collector.parts["stdout"]),
            "stderr": "".join(collector.parts["stderr"]),
            "agent": collector.agent,
        }
        emit(document, ())
    return exit_code_of(end)


def start(word: str, project: str, body: dict[str, Any], detach: bool) -> None:
    """POST the command, then print its id (--detach) or follow it and exit with its result."""
    from urllib.parse import quote

    from rdev_cli.projects import NOT_FOUND_HINT, hinted

    with api() as client:
        with hinted({EXIT_NOT_FOUND: NOT_FOUND_HINT, EXIT_USAGE: f"see `rdev {word} --help`"}):
            command = client.post(f"/projects/{quote(project, safe='')}/commands", body)
        command_id = str(command["id"])
        if detach:
            if structured():
                emit(command, COMMAND_COLUMNS, name_key="id")
            else:
                write(command_id)
            info(f"started command {command_id}; follow it with `rdev commands logs {command_id} -f`")
            return
        code = follow(client, command_id)
    if code:
        raise typer.Exit(code)


def _body(kind: str, timeout: int | None, env: list[str] | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, **fields}
    if timeout is not None:
        body["timeout_s"] = timeout
    variables = pairs(env, "--env")
    if variables:
        body["env"] = variables
    return body


def exec_command(
    project: Project,
    argv: Annotated[
        list[str] | None,
        typer.Argument(
            help="The command and its arguments, after `--`: rdev exec PROJECT -- ls -la", show_default=False
        ),
    ] = None,
    script: Annotated[
        str | None, typer.Option("--script", "-c", help="A shell script run by `sh -c` instead of ARGV.")
    ] = None,
    timeout: Timeout = None,
    env: Env = None,
    detach: Detach = False,
) -> None:
    """Run a command in the project's workspace and follow its output; exit with its exit code
    (124 when the remote timeout hit, 128+N when killed by signal N, 255 when the stream was
    lost). Ctrl-C cancels it (exit 130).

    rdev exec my-shop -- ls -la ; rdev exec my-shop --timeout 60 -c 'make test && make lint'"""
    if bool(argv) == (script is not None):
        raise CliError(
            "give the command after `--`, or a script with --script (one of them)",
            hint="rdev exec PROJECT -- CMD [ARGS...]   or   rdev exec PROJECT --script 'CMD | CMD'",
            exit_code=EXIT_USAGE,
        )
    fields = {"argv": argv} if argv else {"script": script}
    start("exec", project, _body("shell", timeout, env, **fields), detach)


def git_command(
    project: Project,
    args: Annotated[
        list[str],
        typer.Argument(
            help="The git subcommand and its arguments: rdev git PROJECT log --oneline -5",
            show_default=False,
        ),
    ],
    timeout: Timeout = None,
    detach: Detach = False,
) -> None:
    """Run an allowlisted git subcommand (status, log, diff, show, add, commit, branch,
    checkout, switch, merge, rev-parse, fetch, pull, push) in the project's workspace:
    rdev git my-shop log --oneline -5 (after `--`, even --timeout and --detach go to git)."""
    start("git", project, _body("git", timeout, None, argv=list(args)), detach)


# git's own options (--oneline, -5) are git's arguments, not rdev's
git_command.context_settings = {"ignore_unknown_options": True}  # type: ignore[attr-defined]


def _prompt(prompt: str) -> str:
    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise CliError(
            "the prompt is empty",
            hint='rdev agent PROJECT "what to do"  (or - to read it from stdin)',
            exit_code=EXIT_USAGE,
        )
    return prompt


Prompt = Annotated[str, typer.Argument(help="What the agent should do; - reads it from stdin.")]


def agent_command(
    project: Project,
    prompt: Prompt,
    provider: Annotated[str, typer.Option("--provider", "-p", help="claude or opencode.")] = "claude",
    timeout: Timeout = None,
    detach: Detach = False,
) -> None:
    """Run a coding agent in the project's workspace and follow what it does; exit with its
    exit code. Ctrl-C cancels it (exit 130)."""
    if provider not in PROVIDERS:
        raise CliError(
            f"unknown provider {provider!r}",
            hint=f"use --provider {' or --provider '.join(PROVIDERS)}",
            exit_code=EXIT_USAGE,
        )
    start("agent", project, _body(provider, timeout, None, prompt=_prompt(prompt)), detach)


def claude_command(project: Project, prompt: Prompt, timeout: Timeout = None, detach: Detach = False) -> None:
    """Run Claude Code in the project's workspace (= rdev agent --provider claude)."""
    start("claude", project, _body("claude", timeout, None, prompt=_prompt(prompt)), detach)


COMMANDS: dict[str, Any] = {
    "exec": exec_command,
    "git": git_command,
    "agent": agent_command,
    "claude": claude_command,
}
