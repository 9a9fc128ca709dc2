"""Agent backends (spec/sdlc.md §6 `agents`, §9): which program runs each action, parsed from
`.sdlc/config.yaml` with the reference's aliases. Human actions are never routed to an
agent: a config that tries is invalid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdlc.errors import ConfigInvalid
from sdlc.lifecycle import ACTIONS, HUMAN_ACTIONS

BACKEND_TYPES = ("claude", "opencode", "codex", "xadk", "shell", "human")
AGENT_TYPES = frozenset(BACKEND_TYPES) - {"human"}
BACKEND_ALIASES = {"claude_agent_sdk": "claude", "claude_code": "claude"}
BACKEND_FIELDS = (
    "type",
    "model",
    "command",
    "agent_id",
    "allowed_tools",
    "permission_mode",
    "timeout_minutes",
)
DEFAULT_BACKEND: dict[str, Any] = {"type": "claude"}


@dataclass(frozen=True)
class Backend:
    """One backend: `type` and the fields that type uses (§6)."""

    type: str
    model: str | None = None
    command: str | None = None  # shell
    agent_id: str | None = None  # xadk
    allowed_tools: tuple[str, ...] | None = None
    permission_mode: str | None = None
    timeout_minutes: int | None = None

    @property
    def is_agent(self) -> bool:
        return self.type in AGENT_TYPES

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        for name in BACKEND_FIELDS[1:]:
            value = getattr(self, name)
            if value is not None:
                data[name] = list(value) if isinstance(value, tuple) else value
        return data


def parse_backend(entry: Any, path: str) -> Backend:
    """A backend from its config mapping; raises ConfigInvalid naming the bad key by path."""
    if not isinstance(entry, dict):
        raise ConfigInvalid(f"invalid config: {path} must be a mapping with a `type`")
    unknown = sorted(set(entry) - set(BACKEND_FIELDS))
    if unknown:
        raise ConfigInvalid(
            f"invalid config: unknown key {path}.{unknown[0]} (known: {', '.join(BACKEND_FIELDS)})"
        )
    kind = BACKEND_ALIASES.get(str(entry.get("type")), entry.get("type"))
    if kind not in BACKEND_TYPES:
        raise ConfigInvalid(
            f"invalid config: {path}.type must be one of {', '.join(BACKEND_TYPES)}, got {kind!r}"
        )
    for name in ("model", "command", "agent_id", "permission_mode"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise ConfigInvalid(f"invalid config: {path}.{name} must be a string")
    if kind == "shell" and not entry.get("command"):
        raise ConfigInvalid(f"invalid config: {path}.command is required for a shell backend")
    if kind == "xadk" and not entry.get("agent_id"):
        raise ConfigInvalid(f"invalid config: {path}.agent_id is required for an xadk backend")
    tools = entry.get("allowed_tools")
    if tools is not None and (not isinstance(tools, list) or not all(isinstance(t, str) for t in tools)):
        raise ConfigInvalid(f"invalid config: {path}.allowed_tools must be a list of tool names")
    minutes = entry.get("timeout_minutes")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1):
        raise ConfigInvalid(f"invalid config: {path}.timeout_minutes must be a whole number of minutes >= 1")
    return Backend(
        type=kind,
        model=entry.get("model"),
        command=entry.get("command"),
        agent_id=entry.get("agent_id"),
        allowed_tools=tuple(tools) if tools is not None else None,
        permission_mode=entry.get("permission_mode"),
        timeout_minutes=minutes,
    )


@dataclass(frozen=True)
class AgentRouting:
    """`agents.default` and `agents.actions{action: backend}`."""

    default: Backend
    actions: dict[str, Backend]

    def backend_for(self, action: str) -> Backend:
        """The backend of `action`; a human action always gets the human backend."""
        if action in HUMAN_ACTIONS:
            return Backend("human")
        return self.actions.get(action, self.default)

    def timeout_minutes(self, action: str) -> int:
        """The backend's timeout, else the action's (§9)."""
        backend = self.backend_for(action)
        return backend.timeout_minutes or ACTIONS[action].minutes


def parse_agents(data: Any) -> AgentRouting:
    """The `agents` section; refuses unknown actions and human actions routed to an agent."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigInvalid("invalid config: agents must be a mapping")
    unknown = sorted(set(data) - {"default", "actions"})
    if unknown:
        raise ConfigInvalid(f"invalid config: unknown key agents.{unknown[0]} (known: default, actions)")
    default = parse_backend(data.get("default") or DEFAULT_BACKEND, "agents.default")
    actions_data = data.get("actions") or {}
    if not isinstance(actions_data, dict):
        raise ConfigInvalid("invalid config: agents.actions must be a mapping of action to backend")
    actions = {}
    for action, entry in actions_data.items():
        path = f"agents.actions.{action}"
        if action not in ACTIONS:
            raise ConfigInvalid(f"invalid config: {path}: unknown action '{action}'")
        backend = parse_backend(entry, path)
        if action in HUMAN_ACTIONS and backend.is_agent:
            raise ConfigInvalid(
                f"invalid config: {path}: '{action}' is a human action and cannot be routed to an agent "
                f"({backend.type}); use type: human or remove the entry"
            )
        actions[action] = backend
    return AgentRouting(default, actions)
