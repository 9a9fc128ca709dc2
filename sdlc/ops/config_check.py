"""`sdlc config validate`: every problem of a config mapping, each with its key path
(spec/sdlc.md §6). Unknown keys are reported anywhere in the tree; a misspelt key inside a
gate or a backend is one of them. The checks match what the engine's parsers refuse
(tests/sdlc/test_config_cmds.py holds them to it), and go further: unknown keys, gates on
unknown actions, routings of actions no backend runs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sdlc.agents import AGENT_TYPES, BACKEND_ALIASES, BACKEND_FIELDS, BACKEND_TYPES
from sdlc.lifecycle import ACTIONS, ARTIFACTS, HUMAN_ACTIONS, PHASE_INDEX, PHASES, UNDISABLEABLE_PHASES
from sdlc.lifecycle import normalize_artifact as artifact_name
from sdlc.ops.platform import check_platform

CONFIG_FILE = ".sdlc/config.yaml"
TOP_KEYS = (
    "version",
    "project",
    "phases",
    "lifecycle",
    "quality",
    "agents",
    "gates",
    "platform",
    "callbacks",
)
PROJECT_KEYS = ("name", "description")
PHASES_KEYS = ("enabled", "required_artifacts")
LIFECYCLE_KEYS = ("auto_advance", "living_artifacts")
QUALITY_KEYS = ("enforce", "min_score_to_advance", "min_score_to_release", "require_all_lenses", "lenses")
AGENTS_KEYS = ("default", "actions")
GATE_KEYS = ("name", "type", "command", "prompt", "questions", "max_retries", "timeout_seconds")
REFERENCE_GATE_KEYS = ("gate_type", "auto")  # the reference's shape (spec §2)
GATE_TYPE_KEYS = ("type", "command", "prompt", "questions")
GATE_TYPES = ("shell", "human", "step_back")
CALLBACK_KEYS = ("url", "token_env", "project")
# Actions a backend can run or stand for: `advance` is applied by sdlc itself, `done` runs nothing.
ROUTABLE_ACTIONS = tuple(a for a, spec in ACTIONS.items() if spec.by in ("agent", "human"))


def _at(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def names(values: Any) -> str:
    return ", ".join(map(str, values))


class _Validator:
    """Walks the config tree and collects every problem as {path, message}."""

    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []

    def report(self, path: str, message: str) -> None:
        self.problems.append({"path": path, "message": message})

    def mapping(self, value: Any, path: str, known: tuple[str, ...] | None = None) -> dict[str, Any] | None:
        """`value` as a mapping (None counts as empty), with its unknown keys reported."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.report(path, "must be a mapping")
            return None
        for key in value:
            if known is not None and key not in known:
                self.report(_at(path, key), f"unknown key (known: {names(known)})")
        return value

    def boolean(self, section: dict[str, Any], key: str, path: str) -> None:
        if key in section and not isinstance(section[key], bool):
            self.report(_at(path, key), f"must be true or false, got {section[key]!r}")

    def integer(
        self, section: dict[str, Any], key: str, path: str, low: int, high: int | None = None
    ) -> None:
        value = section.get(key)
        if key not in section:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            span = f"{low}..{high}" if high is not None else f">= {low}"
            self.report(_at(path, key), f"must be an integer {span}, got {value!r}")

    def string(self, section: dict[str, Any], key: str, path: str, nullable: bool = True) -> None:
        value = section.get(key)
        if key in section and not isinstance(value, str) and not (nullable and value is None):
            self.report(_at(path, key), f"must be a string, got {value!r}")

    def strings(self, section: dict[str, Any], key: str, path: str) -> None:
        value = section.get(key)
        if key in section and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            self.report(_at(path, key), "must be a list of strings")

    def artifacts(self, value: Any, path: str, nullable: bool = True) -> None:
        if value is None and nullable:  # a phase with nothing required may say so with null
            return
        if not isinstance(value, list):
            self.report(path, f"must be a list of artifact types ({names(ARTIFACTS)})")
            return
        for position, item in enumerate(value):
            if artifact_name(str(item)) is None:
                self.report(f"{path}[{position}]", f"unknown artifact '{item}' (known: {names(ARTIFACTS)})")

    # -- sections --

    def phases(self, value: Any) -> None:
        phases = self.mapping(value, "phases", PHASES_KEYS)
        if not phases:
            return
        enabled = phases.get("enabled")
        if "enabled" in phases:
            if not isinstance(enabled, list):
                self.report("phases.enabled", f"must be a list of phases ({names(PHASES)})")
            else:
                for position, phase in enumerate(enabled):
                    if phase not in PHASE_INDEX:
                        self.report(f"phases.enabled[{position}]", f"unknown phase '{phase}'")
                for phase in UNDISABLEABLE_PHASES:
                    if phase not in enabled:
                        self.report("phases.enabled", f"phase '{phase}' cannot be disabled")
        required = self.mapping(phases.get("required_artifacts"), "phases.required_artifacts")
        for phase, artifacts in (required or {}).items():
            path = _at("phases.required_artifacts", phase)
            if phase not in PHASE_INDEX:
                self.report(path, f"unknown phase (known: {names(PHASES)})")
            else:
                self.artifacts(artifacts, path)

    def lifecycle(self, value: Any) -> None:
        lifecycle = self.mapping(value, "lifecycle", LIFECYCLE_KEYS)
        if lifecycle:
            self.boolean(lifecycle, "auto_advance", "lifecycle")
            if "living_artifacts" in lifecycle:
                self.artifacts(lifecycle["living_artifacts"], "lifecycle.living_artifacts", nullable=False)

    def quality(self, value: Any) -> None:
        quality = self.mapping(value, "quality", QUALITY_KEYS)
        if quality:
            for key in ("enforce", "require_all_lenses"):
                self.boolean(quality, key, "quality")
            for key in ("min_score_to_advance", "min_score_to_release"):
                self.integer(quality, key, "quality", 0, 100)
            self.strings(quality, "lenses", "quality")

    def backend(self, value: Any, path: str) -> str | None:
        """Check one backend; its type with aliases resolved, or None when it is unusable."""
        if not isinstance(value, dict):
            self.report(path, f"must be a mapping with a `type` ({names(BACKEND_TYPES)})")
            return None
        self.mapping(value, path, BACKEND_FIELDS)
        kind = BACKEND_ALIASES.get(str(value.get("type")), value.get("type"))
        if kind not in BACKEND_TYPES:
            got = f", got {value['type']!r}" if "type" in value else " (it is required)"
            self.report(_at(path, "type"), f"must be one of {names(BACKEND_TYPES)}{got}")
            kind = None
        for key in ("model", "command", "agent_id", "permission_mode"):
            self.string(value, key, path)
        if kind == "shell" and not value.get("command"):
            self.report(_at(path, "command"), "is required for a shell backend")
        if kind == "xadk" and not value.get("agent_id"):
            self.report(_at(path, "agent_id"), "is required for an xadk backend")
        self.strings(value, "allowed_tools", path)
        self.integer(value, "timeout_minutes", path, 1)
        return str(kind) if kind else None

    def agents(self, value: Any) -> None:
        agents = self.mapping(value, "agents", AGENTS_KEYS)
        if not agents:
            return
        if agents.get("default") is not None:
            self.backend(agents["default"], "agents.default")
        actions = self.mapping(agents.get("actions"), "agents.actions")
        for action, entry in (actions or {}).items():
            path = _at("agents.actions", action)
            if action not in ROUTABLE_ACTIONS:
                self.report(path, unroutable(str(action)))
                continue
            kind = self.backend(entry, path)
            if action in HUMAN_ACTIONS and kind in AGENT_TYPES:
                self.report(path, human_message(str(action), str(kind)))

    def gate(self, value: Any, path: str) -> str | None:
        gate = self.mapping(value, path, GATE_KEYS + REFERENCE_GATE_KEYS)
        if gate is None:
            return None
        fields = dict(gate)
        if "gate_type" in gate:
            nested = self.mapping(gate["gate_type"], _at(path, "gate_type"), GATE_TYPE_KEYS)
            fields.update(nested or {})
            where = _at(path, "gate_type")
        else:
            where = path
        kind = fields.get("type")
        if kind not in GATE_TYPES:
            got = f", got {kind!r}" if kind is not None else " (it is required)"
            self.report(_at(where, "type"), f"must be one of {names(GATE_TYPES)}{got}")
        if kind == "shell" and not isinstance(fields.get("command"), str):
            self.report(_at(where, "command"), "is required for a shell gate (a command line)")
        for key in ("command", "prompt"):
            self.string(fields, key, where)
        self.strings(fields, "questions", where)
        name = gate.get("name")
        if not isinstance(name, str) or not name:
            self.report(_at(path, "name"), "is required (a string)")
            name = None
        self.integer(gate, "max_retries", path, 0)
        self.integer(gate, "timeout_seconds", path, 1)
        self.boolean(gate, "auto", path)
        return name

    def gates(self, value: Any) -> None:
        gates = self.mapping(value, "gates")
        for action, entries in (gates or {}).items():
            path = _at("gates", action)
            if action not in ACTIONS:
                self.report(path, f"unknown action (known: {names(ACTIONS)})")
                continue
            if not isinstance(entries, list):
                self.report(path, "must be a list of gates")
                continue
            seen: set[str] = set()
            for position, entry in enumerate(entries):
                name = self.gate(entry, f"{path}[{position}]")
                if name in seen:
                    self.report(f"{path}[{position}].name", f"duplicate gate name '{name}'")
                seen.add(name or "")

    def callbacks(self, value: Any) -> None:
        callbacks = self.mapping(value, "callbacks", CALLBACK_KEYS)
        if not callbacks:
            return
        for key in CALLBACK_KEYS:
            self.string(callbacks, key, "callbacks")
        url = callbacks.get("url")
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                self.report("callbacks.url", f"must be an http:// or https:// URL, got {url!r}")

    def document(self, data: Any) -> None:
        if data is None:
            return
        if not isinstance(data, dict):
            self.report("", f"{CONFIG_FILE} must hold a mapping")
            return
        self.mapping(data, "", TOP_KEYS)
        if "version" in data and data["version"] != 1:
            self.report("version", f"unsupported config version {data['version']!r} (this sdlc reads 1)")
        project = self.mapping(data.get("project"), "project", PROJECT_KEYS)
        if project:
            self.string(project, "name", "project")
            self.string(project, "description", "project")
        self.phases(data.get("phases"))
        self.lifecycle(data.get("lifecycle"))
        self.quality(data.get("quality"))
        self.agents(data.get("agents"))
        self.gates(data.get("gates"))
        check_platform(data.get("platform"), "platform", self.report)
        self.callbacks(data.get("callbacks"))


def unroutable(action: str) -> str:
    if action in ACTIONS:
        return f"'{action}' is not run by a backend (routable: {names(ROUTABLE_ACTIONS)})"
    return f"unknown action '{action}' (known: {names(ROUTABLE_ACTIONS)})"


def human_message(action: str, kind: str) -> str:
    return (
        f"'{action}' is a human action and cannot be routed to an agent ({kind}); "
        "use type: human or remove the entry"
    )


def problems_of(data: Any) -> list[dict[str, str]]:
    """Every problem of a config mapping, in file order, each with its key path."""
    validator = _Validator()
    validator.document(data)
    return validator.problems
