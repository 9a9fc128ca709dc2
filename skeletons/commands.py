"""The sdlc skeleton commands (spec/sdlc.md §8), rendered per agent.

Template `sdlc-commands` holds one Jinja source per command (`commands/<name>.md.j2`), the
metadata of every command (`commands.yaml`: description, argument hint, allowed tools, whether
it writes, the classifier actions it carries out, what it reads, a one-line recipe), shared
fragments (`partials/*.md.j2`, rendered first and passed to the bodies as `partials.<name>`)
and the AGENTS.md command list (`agents-section.md.j2`).

A body is rendered with the skeletons environment (sandboxed, StrictUndefined) and the context
`arguments` (how the agent receives the arguments: `$ARGUMENTS`, Gemini's `{{args}}`, ...),
`command` (this command's metadata), `commands` (all of them), `command_files` (name → path of
each rendered command file for this agent; empty in a prompt) and `partials`. The agent's
wrapper (front matter, TOML) is added here, with real YAML/TOML serialisation.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from skeletons import yamlfast
from skeletons.environment import environment
from skeletons.errors import ManifestInvalid, RenderFailed, SkeletonError
from skeletons.registry import get_template

TEMPLATE = "sdlc-commands"
AGENTS = ("claude", "opencode", "gemini", "cursor", "copilot", "codex")
COMMAND_NAMES = (
    "sdlc-next",
    "sdlc-status",
    "sdlc-approve",
    "sdlc-spec",
    "sdlc-design",
    "sdlc-tasks",
    "sdlc-qa-plan",
    "sdlc-implement",
    "sdlc-review",
    "sdlc-fix-review",
    "sdlc-audit",
    "sdlc-qa",
    "sdlc-fix-qa",
    "sdlc-merge",
    "sdlc-unblock",
)
AGENTS_MD = "AGENTS.md"

# How each agent hands the arguments to a command body.
ARGUMENTS = {
    "claude": "$ARGUMENTS",
    "opencode": "$ARGUMENTS",
    "gemini": "{{args}}",
    "cursor": "the text typed after the command name",
    "copilot": "${input:arguments:%s}",  # %s: the argument hint, shown as the input's placeholder
}


class CommandMeta(BaseModel):
    """One entry of commands.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    argument_hint: str = ""
    tools: tuple[str, ...]
    writes: bool
    actions: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()
    summary: str


class _CommandsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commands: list[CommandMeta]


def _root() -> Path:
    return get_template(TEMPLATE).root


@cache
def _metadata() -> tuple[CommandMeta, ...]:
    path = _root() / "commands.yaml"
    try:
        loaded = _CommandsFile.model_validate(yamlfast.load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as err:
        raise ManifestInvalid(f"cannot read {path}: {err}") from err
    except ValidationError as err:
        raise ManifestInvalid(f"invalid {path}: {err}") from err
    names = tuple(c.name for c in loaded.commands)
    if names != COMMAND_NAMES:
        raise ManifestInvalid(f"{path} must list exactly {', '.join(COMMAND_NAMES)} in that order")
    return tuple(loaded.commands)


@cache
def _compiled(relative: str) -> jinja2.Template:
    """The template source `relative` compiled once with the skeletons environment."""
    where = f"{TEMPLATE}/{relative}"
    try:
        return environment().from_string((_root() / relative).read_text(encoding="utf-8"))
    except OSError as err:
        raise SkeletonError(f"cannot read {where}: {err}") from err
    except jinja2.TemplateError as err:
        raise RenderFailed(f"cannot render {where}: {err}") from err


def _render(relative: str, context: dict[str, Any]) -> str:
    try:
        return _compiled(relative).render(context)
    except jinja2.TemplateError as err:
        line = getattr(err, "lineno", None)
        at = f" line {line}" if line else ""
        raise RenderFailed(f"cannot render {TEMPLATE}/{relative}{at}: {err}") from err


@cache
def _partial_names() -> tuple[str, ...]:
    return tuple(sorted(p.name.removesuffix(".md.j2") for p in (_root() / "partials").glob("*.md.j2")))


def command_names() -> list[str]:
    """The fifteen skeleton commands, in their listed order."""
    return [c.name for c in _metadata()]


def _meta(name: str) -> CommandMeta:
    for meta in _metadata():
        if meta.name == name:
            return meta
    raise SkeletonError(f"unknown command '{name}'", hint=f"commands: {', '.join(COMMAND_NAMES)}")


def _check_agent(agent: str) -> None:
    if agent not in AGENTS:
        raise SkeletonError(f"unknown agent '{agent}'", hint=f"agents: {', '.join(AGENTS)}")


def _file_path(agent: str, name: str) -> str:
    return {
        "claude": f".claude/commands/{name}.md",
        "opencode": f".opencode/commands/{name}.md",
        "gemini": f".gemini/commands/{name}.toml",
        "cursor": f".cursor/commands/{name}.md",
        "copilot": f".github/prompts/{name}.prompt.md",
    }[agent]


def _body(name: str, arguments: str, command_files: dict[str, str]) -> str:
    meta = _meta(name)
    context: dict[str, Any] = {
        "arguments": arguments,
        "command": meta.model_dump(),
        "commands": [c.model_dump() for c in _metadata()],
        "command_files": command_files,
    }
    partials = {p: _render(f"partials/{p}.md.j2", context).strip() for p in _partial_names()}
    return _render(f"commands/{name}.md.j2", {**context, "partials": partials}).rstrip() + "\n"


def command_prompt(name: str, arguments: str) -> str:
    """The body of command `name` as a prompt (for `sdlc run`), with the actual arguments."""
    return _body(name, arguments.strip() or "(none)", {})


def _front_matter(data: dict[str, str]) -> str:
    dumped = yamlfast.dump(data, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{dumped}---\n\n"


def _toml_string(text: str) -> str:
    """A TOML string holding `text`: a multi-line literal string when possible (readable),
    else a basic string (JSON's escapes are valid TOML escapes)."""
    literal_ok = "'''" not in text and all(ch in "\t\n" or (ch >= " " and ch != "\x7f") for ch in text)
    if literal_ok:
        return f"'''\n{text}'''"
    return json.dumps(text, ensure_ascii=False)


def _agent_file(agent: str, meta: CommandMeta, command_files: dict[str, str]) -> str:
    if agent == "copilot":
        arguments = ARGUMENTS["copilot"] % (meta.argument_hint or "arguments")
    else:
        arguments = ARGUMENTS[agent]
    body = _body(meta.name, arguments, command_files)
    if agent == "claude":
        front = {"description": meta.description}
        if meta.argument_hint:
            front["argument-hint"] = meta.argument_hint
        front["allowed-tools"] = ", ".join(meta.tools)
        return _front_matter(front) + body
    if agent == "opencode":
        return (
            _front_matter({"description": meta.description, "agent": "build" if meta.writes else "plan"})
            + body
        )
    if agent == "copilot":
        return _front_matter({"description": meta.description, "mode": "agent"}) + body
    if agent == "gemini":
        description = json.dumps(meta.description, ensure_ascii=False)
        return f"description = {description}\nprompt = {_toml_string(body)}\n"
    return body  # cursor: plain Markdown


def agents_section() -> str:
    """The command list for the SDLC section of AGENTS.md (without the markers)."""
    context = {"commands": [c.model_dump() for c in _metadata()]}
    return _render("agents-section.md.j2", context).rstrip() + "\n"


def render_commands(agent: str) -> dict[str, str]:
    """Every file `agent` gets: relative output path → content. For `codex` the single entry
    `AGENTS.md` holds only the body of the SDLC section (sdlc splices it between
    `<!-- sdlc:begin -->` and `<!-- sdlc:end -->`)."""
    _check_agent(agent)
    if agent == "codex":
        return {AGENTS_MD: agents_section()}
    files = {name: _file_path(agent, name) for name in command_names()}
    return {files[meta.name]: _agent_file(agent, meta, files) for meta in _metadata()}
