"""Output models of `sdlc config show|validate`, `sdlc config agent show|set-default|set-action|
reset` and `sdlc platform list` (spec/sdlc.md §6). `sdlc platform CMD` prints what its script
prints (only its errors are sdlc's JSON error documents)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from sdlc.schemas.models import Action, ArtifactType, NonEmpty, Out, Phase

BackendType = Literal["claude", "opencode", "codex", "xadk", "shell", "human"]


class Backend(Out):
    """A backend in our shape: the reference's type aliases (claude_agent_sdk, ...) resolved."""

    type: BackendType
    model: str | SkipJsonSchema[None] = None
    command: str | SkipJsonSchema[None] = Field(None, description="shell: run by `sh -c`, prompt on stdin.")
    agent_id: str | SkipJsonSchema[None] = Field(None, description="xadk: the agent to run.")
    allowed_tools: list[str] | SkipJsonSchema[None] = None
    permission_mode: str | SkipJsonSchema[None] = None
    timeout_minutes: int | SkipJsonSchema[None] = Field(None, ge=1)


class Gate(Out):
    """A gate in our shape (the reference's `gate_type` flattened, step_back read as human)."""

    name: str
    type: Literal["shell", "human"]
    command: str | SkipJsonSchema[None] = None
    prompt: str | SkipJsonSchema[None] = None
    questions: list[str] | SkipJsonSchema[None] = None
    max_retries: int
    timeout_seconds: int


class PlatformArg(Out):
    name: str
    required: bool
    choices: list[str] | SkipJsonSchema[None] = Field(None, description="Omitted when any value is accepted.")


class PlatformCommandConfig(Out):
    description: str
    script: str | None = Field(description="null when the command only has subcommands.")
    args: list[PlatformArg]
    subcommands: dict[str, str] = Field(description="Subcommand name → script.")


class ProjectSection(Out):
    name: str
    description: str | None


class PhasesSection(Out):
    enabled: list[Phase]
    required_artifacts: dict[Phase, list[ArtifactType]]


class LifecycleSection(Out):
    auto_advance: bool
    living_artifacts: list[ArtifactType]


class QualitySection(Out):
    enforce: bool
    min_score_to_advance: int
    min_score_to_release: int
    require_all_lenses: bool
    lenses: list[str]


class AgentsSection(Out):
    default: Backend
    actions: dict[Action, Backend]


class PlatformSection(Out):
    commands: dict[str, PlatformCommandConfig]


class CallbacksSection(Out):
    url: str | None = Field(description="null: the environment's RDEV_CALLBACK_URL decides.")
    token_env: str
    project: str = Field(description="callbacks.project, else the project's name.")


class ConfigShow(Out):
    """config show: the effective config, every section present."""

    version: int
    project: ProjectSection
    phases: PhasesSection
    lifecycle: LifecycleSection
    quality: QualitySection
    agents: AgentsSection
    gates: dict[Action, list[Gate]]
    platform: PlatformSection
    callbacks: CallbacksSection


class ConfigProblem(Out):
    path: str = Field(description='Key path, e.g. agents.actions.create_spec.model; "" for the whole file.')
    message: NonEmpty


class ConfigValidate(Out):
    """config validate (exit 1 when invalid)."""

    valid: bool
    problems: list[ConfigProblem]
    code: Literal["config_invalid"] | SkipJsonSchema[None] = Field(None, description="Only when invalid.")


class Route(Out):
    """Who runs one action."""

    action: Action
    by: Literal["agent", "human"]
    backend: Backend
    source: Literal["action", "default", "human"] = Field(
        description="action: agents.actions routes it; default: agents.default; human: a human action."
    )
    timeout_minutes: int | None = Field(description="The backend's, else the action's; null for humans.")


class AgentRouting(Out):
    """config agent show."""

    default: Backend
    actions: dict[Action, Backend]
    routes: list[Route]


class AgentChange(AgentRouting):
    """config agent set-default|set-action|reset: the routing after the change."""

    changed: bool = Field(description="false when the file already said so (nothing written).")
    key: str | None = Field(description="The key changed, e.g. agents.actions.create_spec; null when none.")


class PlatformSubcommand(Out):
    name: str
    script: str


class PlatformCommand(Out):
    name: str
    description: str
    script: str | None = Field(description="null when the command only has subcommands.")
    args: list[PlatformArg]
    subcommands: list[PlatformSubcommand]


# file stem → (type of the document, title, description); see generate.SCHEMAS
SCHEMAS: dict[str, tuple[Any, str, str]] = {
    "config-show": (ConfigShow, "Effective config", "sdlc config show"),
    "config-validate": (ConfigValidate, "Config validation", "sdlc config validate"),
    "config-agent-routing": (AgentRouting, "Agent routing", "sdlc config agent show"),
    "config-agent-change": (
        AgentChange,
        "Agent routing change",
        "sdlc config agent set-default|set-action|reset",
    ),
    "platform-list": (list[PlatformCommand], "Platform commands", "sdlc platform list ([] when none)"),
}
# command (as a user types it) → schema stem; see generate.COMMANDS
COMMANDS: dict[str, str] = {
    "sdlc config show": "config-show",
    "sdlc config validate": "config-validate",
    "sdlc config agent show": "config-agent-routing",
    "sdlc config agent set-default TYPE": "config-agent-change",
    "sdlc config agent set-action ACTION TYPE": "config-agent-change",
    "sdlc config agent reset [ACTION]": "config-agent-change",
    "sdlc platform list": "platform-list",
}
