"""Commands run in a project's workspace (spec/rdev-api.md "Commands"): the request, the
git allowlist, statuses and the events a follower receives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CommandKind = Literal["shell", "git", "claude", "opencode"]
CommandStatus = Literal["queued", "running", "succeeded", "failed", "timed_out", "cancelled"]
FINISHED: Final = frozenset({"succeeded", "failed", "timed_out", "cancelled"})
AGENT_KINDS: Final = frozenset({"claude", "opencode"})
GIT_ALLOWED: Final = frozenset(
    {
        "status",
        "log",
        "diff",
        "show",
        "add",
        "commit",
        "branch",
        "checkout",
        "switch",
        "merge",
        "rev-parse",
        "fetch",
        "pull",
        "push",
    }
)
ENV_NAME: Final = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
# Variables a request may not set: they are the server's to decide.
RESERVED_ENV: Final = frozenset({"PATH", "HOME", "SDLC_AGENT", "SDLC_ROOT"})
MAX_TIMEOUT_S: Final = 24 * 3600
DEFAULT_TIMEOUT_S: Final = 600


class CommandRequest(BaseModel):
    """`POST /projects/{id}/commands`: exactly the field its kind needs."""

    model_config = ConfigDict(extra="forbid")

    kind: CommandKind
    argv: list[str] | None = Field(
        None, min_length=1, max_length=1000, description="shell (exec form) and git"
    )
    script: str | None = Field(None, min_length=1, max_length=100_000, description="shell, run by `sh -c`")
    prompt: str | None = Field(None, min_length=1, max_length=200_000, description="claude and opencode")
    timeout_s: int = Field(DEFAULT_TIMEOUT_S, ge=1, le=MAX_TIMEOUT_S)
    env: dict[str, str] = Field(default_factory=dict, max_length=100)

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> CommandRequest:
        given = {name for name in ("argv", "script", "prompt") if getattr(self, name) is not None}
        allowed = {"shell": {"argv", "script"}, "git": {"argv"}}.get(self.kind, {"prompt"})
        if len(given) != 1 or not given <= allowed:
            wanted = " or ".join(sorted(allowed))
            raise ValueError(f"a {self.kind} command takes exactly one of: {wanted}")
        if self.kind == "git":
            assert self.argv is not None
            if self.argv[0] not in GIT_ALLOWED:
                raise ValueError(
                    f"git {self.argv[0]!r} is not allowed; allowed: {', '.join(sorted(GIT_ALLOWED))}"
                )
        bad = sorted(name for name in self.env if not ENV_NAME.fullmatch(name) or name in RESERVED_ENV)
        if bad:
            raise ValueError(
                f"env names must be UPPER_CASE and not reserved ({', '.join(sorted(RESERVED_ENV))}): {bad}"
            )
        return self

    def argv_for(self, agent_argv: list[str] | None = None) -> list[str]:
        """The process to start (agents: the provider's argv)."""
        if self.kind == "git":
            assert self.argv is not None
            return ["git", *self.argv]
        if self.kind == "shell":
            return list(self.argv) if self.argv is not None else ["sh", "-c", self.script or ""]
        assert agent_argv is not None
        return agent_argv


@dataclass(frozen=True)
class ProcessOutcome:
    """How a command's process ended."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    cancelled: bool
    error: str | None = None  # the process could not start

    @classmethod
    def not_started(cls, error: str) -> ProcessOutcome:
        return cls(None, None, False, False, error)

    @classmethod
    def of_exit(cls, code: int, timed_out: bool, cancelled: bool) -> ProcessOutcome:
        """From an exit code as Popen gives it: negative for the signal that ended the process."""
        signal_number = -code if code < 0 else None
        return cls(None if signal_number else code, signal_number, timed_out, cancelled and not timed_out)


def status_of_exit(exit_code: int | None, timed_out: bool, cancelled: bool) -> CommandStatus:
    if cancelled:
        return "cancelled"
    if timed_out:
        return "timed_out"
    return "succeeded" if exit_code == 0 else "failed"
