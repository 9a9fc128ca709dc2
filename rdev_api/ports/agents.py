"""Agent providers: how an agent kind of command is started and how its output is read."""

from __future__ import annotations

from typing import Any, Protocol


class AgentProvider(Protocol):
    kind: str

    def argv(self, prompt: str) -> list[str]:
        """The process that runs `prompt`."""
        ...

    def parse(self, line: str) -> dict[str, Any] | None:
        """A typed agent event from one line of its stdout, or None for plain output."""
        ...
