"""Project config (`.sdlc/config.yaml`, spec/sdlc.md §6): defaults, reference aliases, and
the derived views the classifier needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sdlc.errors import ConfigInvalid
from sdlc.lifecycle import ARTIFACTS, PHASE_INDEX, PHASES, UNDISABLEABLE_PHASES, normalize_artifact

DEFAULT_REQUIRED_ARTIFACTS: dict[str, list[str]] = {
    "specified": ["spec"],
    "planned": ["spec", "design", "tasks", "qa_plan"],
    "review": ["review"],
    "audit": ["review", "audit"],
    "qa": ["audit"],
    "merge": ["qa_results"],
}
DEFAULT_LENSES = ["product_fit", "research_grounding", "implementation"]


@dataclass(eq=False, repr=False)
class Quality:
    enforce: bool = True
    min_score_to_advance: int = 70
    min_score_to_release: int = 80
    require_all_lenses: bool = False
    lenses: list[str] = field(default_factory=lambda: list(DEFAULT_LENSES))


@dataclass(eq=False, repr=False)
class Config:
    """The parsed config. `raw` keeps the file's mapping for the parts other issues read."""

    project_name: str
    project_description: str | None = None
    enabled_phases: tuple[str, ...] = PHASES
    required_artifacts: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_REQUIRED_ARTIFACTS.items()}
    )
    auto_advance: bool = True
    living_artifacts: frozenset[str] = frozenset()
    quality: Quality = field(default_factory=Quality)
    gates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def cumulative_required(self) -> dict[str, tuple[str, ...]]:
        """required(X): the union of required_artifacts of every phase up to X, in fixed order."""
        result: dict[str, tuple[str, ...]] = {}
        seen: set[str] = set()
        for phase in PHASES:
            seen.update(self.required_artifacts.get(phase, []))
            result[phase] = tuple(a for a in ARTIFACTS if a in seen)
        return result

    def next_enabled(self, phase: str) -> str | None:
        """N: the next enabled phase after `phase`."""
        for candidate in PHASES[PHASE_INDEX[phase] + 1 :]:
            if candidate in self.enabled_phases:
                return candidate
        return None


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigInvalid(f"invalid config: {path} must be true or false, got {value!r}")
    return value


def _int(value: Any, path: str, low: int = 0, high: int = 100) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigInvalid(f"invalid config: {path} must be an integer {low}..{high}, got {value!r}")
    return value


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigInvalid(f"invalid config: {path} must be a mapping")
    return value


def _artifact_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise ConfigInvalid(f"invalid config: {path} must be a list of artifact types")
    result = []
    for item in value:
        kind = normalize_artifact(str(item))
        if kind is None:
            raise ConfigInvalid(f"invalid config: {path} names unknown artifact '{item}'")
        result.append(kind)
    return result


def normalize_gate(entry: Any, path: str) -> dict[str, Any]:
    """A gate in our shape; the reference's `{gate_type: {type, ...}}` is accepted."""
    gate: dict[str, Any] = dict(_mapping(entry, path))
    nested = gate.pop("gate_type", None)
    if isinstance(nested, dict):
        gate.update(nested)
    gate.pop("auto", None)  # reference field, ignored
    if gate.get("type") == "step_back":
        gate["type"] = "human"
    if gate.get("type") not in ("shell", "human"):
        raise ConfigInvalid(f"invalid config: {path}.type must be shell or human")
    if "name" not in gate:
        raise ConfigInvalid(f"invalid config: {path}.name is required")
    gate.setdefault("max_retries", 0)
    gate.setdefault("timeout_seconds", 60)
    return gate


def parse_config(data: Any, default_name: str) -> Config:
    """Build a Config from the file's mapping; raises ConfigInvalid naming the bad key."""
    data = _mapping(data, "config")
    project = _mapping(data.get("project"), "project")
    phases = _mapping(data.get("phases"), "phases")
    config = Config(
        project_name=str(project.get("name") or default_name),
        project_description=project.get("description"),
        raw=data,
    )
    if "enabled" in phases:
        enabled = phases["enabled"]
        if not isinstance(enabled, list) or any(p not in PHASE_INDEX for p in enabled):
            raise ConfigInvalid("invalid config: phases.enabled must list known phases")
        for phase in UNDISABLEABLE_PHASES:
            if phase not in enabled:
                raise ConfigInvalid(f"invalid config: phase '{phase}' cannot be disabled")
        config.enabled_phases = tuple(p for p in PHASES if p in enabled)
    if "required_artifacts" in phases:
        required = _mapping(phases["required_artifacts"], "phases.required_artifacts")
        for phase in required:
            if phase not in PHASE_INDEX:
                raise ConfigInvalid(f"invalid config: phases.required_artifacts.{phase} is not a phase")
        config.required_artifacts = {
            p: _artifact_list(v or [], f"phases.required_artifacts.{p}") for p, v in required.items()
        }
    lifecycle = _mapping(data.get("lifecycle"), "lifecycle")
    if "auto_advance" in lifecycle:
        config.auto_advance = _bool(lifecycle["auto_advance"], "lifecycle.auto_advance")
    if "living_artifacts" in lifecycle:
        config.living_artifacts = frozenset(
            _artifact_list(lifecycle["living_artifacts"], "lifecycle.living_artifacts")
        )
    quality = _mapping(data.get("quality"), "quality")
    q = config.quality
    if "enforce" in quality:
        q.enforce = _bool(quality["enforce"], "quality.enforce")
    for key in ("min_score_to_advance", "min_score_to_release"):
        if key in quality:
            setattr(q, key, _int(quality[key], f"quality.{key}"))
    if "require_all_lenses" in quality:
        q.require_all_lenses = _bool(quality["require_all_lenses"], "quality.require_all_lenses")
    if "lenses" in quality:
        if not isinstance(quality["lenses"], list):
            raise ConfigInvalid("invalid config: quality.lenses must be a list")
        q.lenses = [str(lens) for lens in quality["lenses"]]
    gates = _mapping(data.get("gates"), "gates")
    for action, entries in gates.items():
        if not isinstance(entries, list):
            raise ConfigInvalid(f"invalid config: gates.{action} must be a list")
        config.gates[action] = [normalize_gate(g, f"gates.{action}[{i}]") for i, g in enumerate(entries)]
    return config


def default_config_document(name: str) -> dict[str, Any]:
    """What `sdlc init` writes: every default spelled out so people can edit it."""
    return {
        "version": 1,
        "project": {"name": name},
        "phases": {
            "enabled": list(PHASES),
            "required_artifacts": {k: list(v) for k, v in DEFAULT_REQUIRED_ARTIFACTS.items()},
        },
        "lifecycle": {"auto_advance": True, "living_artifacts": []},
        "quality": {
            "enforce": True,
            "min_score_to_advance": 70,
            "min_score_to_release": 80,
            "require_all_lenses": False,
            "lenses": list(DEFAULT_LENSES),
        },
        "agents": {"default": {"type": "claude"}},
    }
