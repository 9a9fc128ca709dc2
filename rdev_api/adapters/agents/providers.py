"""Claude Code and OpenCode as command kinds (spec/rdev-api.md "Commands"; sdlc.md §9 for the
argv and Claude Code's stream-json). Binaries are configurable: RDEV_CLAUDE_BIN,
RDEV_OPENCODE_BIN (tests point them at a fake that prints the same stream)."""

from __future__ import annotations

import json
from typing import Any

from rdev_api.envutil import get_env

CLAUDE_OPTIONS = (
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-mode",
    "acceptEdits",
    "--allowedTools",
    "Read,Write,Edit,Bash,Glob,Grep",
)
# fields of stream-json events passed on to followers (the rest can be large or private)
_KEPT = (
    "type",
    "subtype",
    "session_id",
    "model",
    "is_error",
    "result",
    "duration_ms",
    "num_turns",
    "total_cost_usd",
)


class ClaudeProvider:
    kind = "claude"

    def argv(self, prompt: str) -> list[str]:
        return [get_env("RDEV_CLAUDE_BIN", "claude"), "-p", prompt, *CLAUDE_OPTIONS]

    def parse(self, line: str) -> dict[str, Any] | None:
        try:
            data = json.loads(line)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return None
        event = {k: data[k] for k in _KEPT if k in data}
        message = data.get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            event["content"] = [_block(b) for b in message["content"] if isinstance(b, dict)]
        return event


def _block(block: dict[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "tool_use":
        return {"type": "tool_use", "name": block.get("name"), "id": block.get("id")}
    if kind == "tool_result":
        return {
            "type": "tool_result",
            "tool_use_id": block.get("tool_use_id"),
            "is_error": block.get("is_error", False),
        }
    return {"type": str(kind)}


class OpenCodeProvider:
    kind = "opencode"

    def argv(self, prompt: str) -> list[str]:
        return [get_env("RDEV_OPENCODE_BIN", "opencode"), "run", prompt]

    def parse(self, line: str) -> dict[str, Any] | None:
        return None


def default_providers() -> dict[str, Any]:
    return {p.kind: p for p in (ClaudeProvider(), OpenCodeProvider())}
