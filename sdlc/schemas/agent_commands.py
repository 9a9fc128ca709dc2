"""Output models of `sdlc commands install|update|check|list` (spec/sdlc.md §8)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from sdlc.schemas.models import NonEmpty, Out

AgentName = Literal["claude", "opencode", "gemini", "cursor", "copilot", "codex"]
FileState = Literal["ok", "missing", "stale", "edited", "untracked", "obsolete"]
STATES = (
    "ok: the file is what this sdlc generates; missing: absent (for codex: AGENTS.md has no SDLC "
    "section, or only the one `sdlc init` writes); stale: unedited since sdlc wrote it, but this sdlc "
    "generates something else; edited: changed since sdlc wrote it; untracked: exists, differs, "
    "never written by sdlc; obsolete: no longer generated, unedited."
)
AgentPath = Field(
    description="Relative to the root. For codex, AGENTS.md stands for its SDLC section (between "
    "`<!-- sdlc:begin -->` and `<!-- sdlc:end -->`), the only part sdlc hashes and rewrites."
)


class FilePlan(Out):
    agent: AgentName
    path: str = AgentPath
    state: FileState = Field(description="Before the command. " + STATES)
    action: Literal["create", "update", "remove", "unchanged", "keep"] = Field(
        description="create or update: written (with --dry-run: would be); remove: deleted; keep: "
        "left as it is, see `reason`."
    )
    reason: NonEmpty | SkipJsonSchema[None] = Field(None, description="Only with action keep.")


class CommandsResult(Out):
    """commands install / commands update."""

    command: Literal["install", "update"]
    dry_run: bool
    agents: list[AgentName] = Field(
        description="The agents acted on: --agent, else those in .sdlc/commands.lock, else claude."
    )
    files: list[FilePlan]
    changed: bool = Field(
        description="Whether a file or .sdlc/commands.lock was (with --dry-run: would be) written."
    )


class FileStatus(Out):
    agent: AgentName
    path: str = AgentPath
    state: FileState = Field(description=STATES)


class CommandsStatus(Out):
    """commands check / commands list."""

    agents: list[AgentName]
    sdlc_version: NonEmpty = Field(description="The version of this sdlc.")
    lock_version: str | None = Field(
        description="The sdlc version that last wrote .sdlc/commands.lock; null when there is none."
    )
    files: list[FileStatus]
    ok: bool = Field(description="Every file is ok; `commands check` exits 1 otherwise.")


# file stem → (type of the document, title, description); see generate.SCHEMAS
SCHEMAS: dict[str, tuple[Any, str, str]] = {
    "commands-result": (CommandsResult, "Agent command files: plan", "sdlc commands install|update"),
    "commands-status": (CommandsStatus, "Agent command files: states", "sdlc commands check|list"),
}
# command (as a user types it) → schema stem; see generate.COMMANDS
COMMANDS: dict[str, str] = {
    "sdlc commands install": "commands-result",
    "sdlc commands update": "commands-result",
    "sdlc commands check": "commands-status",
    "sdlc commands list": "commands-status",
}
