"""The results of commands: mutation results, project views (state, stats, history), doctor,
init, and the error object. See the package docstring for the conventions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from sdlc.schemas.agent_commands import AgentName
from sdlc.schemas.models import (
    Action,
    ArtifactEntry,
    Comment,
    MilestoneStatus,
    NonEmpty,
    Out,
    Phase,
    Score,
    Task,
    TaskCounts,
    Timestamp,
)

ErrorCode = Literal[
    "not_initialized",
    "feature_not_found",
    "feature_exists",
    "invalid_slug",
    "invalid_transition",
    "invalid_artifact_transition",
    "missing_artifact",
    "task_not_found",
    "comment_not_found",
    "milestone_not_found",
    "milestone_exists",
    "dependency_cycle",
    "corrupt_file",
    "lock_timeout",
    "config_invalid",
    "agent_forbidden",
    "callback_failed",
    "run_in_progress",
    "invalid_value",
    "usage_error",
    "internal",
    "error",
]

# -- mutation results ----------------------------------------------------------------------------

Hops = Annotated[
    list[Phase],
    Field(description="Every phase entered by this command, auto-advance included, in order."),
]


class FeatureChanges(Out):
    title: str | SkipJsonSchema[None] = None
    description: str | None = Field(None, description="null when cleared with an empty --description.")
    dependencies: list[str] | SkipJsonSchema[None] = None


class FeatureResult(Out):
    """feature create/update/transition/archive/unarchive/block/unblock, `archive`, `merge`.
    The optional keys belong to one command each."""

    feature: str
    phase: Phase
    title: str | SkipJsonSchema[None] = Field(None, description="feature create")
    changes: FeatureChanges | SkipJsonSchema[None] = Field(None, description="feature update")
    changed: bool | SkipJsonSchema[None] = Field(
        None, description="feature transition: false when already in the phase"
    )
    archived: bool | SkipJsonSchema[None] = Field(None, description="feature archive/unarchive, archive")
    removed: list[str] | SkipJsonSchema[None] = Field(None, description="feature unblock")
    blockers: list[str] | SkipJsonSchema[None] = Field(None, description="feature block/unblock")
    transitioned: Hops


class ArtifactResult(Out):
    """artifact draft/approve/reject/pass/fail/waive/unwaive."""

    feature: str
    phase: Phase
    artifact: ArtifactEntry
    changed: bool = Field(description="false when the move was already in effect (a no-op)")
    transitioned: Hops


class TaskChanges(Out):
    title: str | SkipJsonSchema[None] = None
    description: str | None = Field(None, description="null when cleared with an empty --description.")
    depends_on: list[str] | SkipJsonSchema[None] = None


class TaskResult(Out):
    """task add/start/complete/block/unblock/reopen/edit/remove (remove prints the removed task)."""

    feature: str
    phase: Phase
    task: Task
    changed: bool | SkipJsonSchema[None] = Field(
        None, description="task start/complete/block/unblock/reopen: false when already in effect"
    )
    changes: TaskChanges | SkipJsonSchema[None] = Field(None, description="task edit")
    transitioned: Hops


class CommentResult(Out):
    """comment create/resolve/remove (remove prints the removed comment)."""

    feature: str
    phase: Phase
    comment: Comment
    changed: bool | SkipJsonSchema[None] = Field(
        None, description="comment resolve: false when already resolved"
    )
    transitioned: Hops


class ScoreResult(Out):
    """score set."""

    feature: str
    phase: Phase
    score: Score
    transitioned: Hops


# -- project views ------------------------------------------------------------------------------


class PhaseCounts(Out):
    """Non-archived features per phase; every phase is present."""

    draft: int
    specified: int
    planned: int
    ready: int
    implementation: int
    review: int
    audit: int
    qa: int
    merge: int
    released: int


class FeatureCounts(Out):
    total: int = Field(description="Every feature, archived included.")
    archived: int
    by_phase: PhaseCounts


class ActiveFeature(Out):
    feature: str
    phase: Phase
    action: Action


class ActiveWork(Out):
    """An action in progress, as recorded in state.yaml `active_work`."""

    feature: str
    action: str
    started_at: Timestamp
    timeout_minutes: int


class BlockedFeature(Out):
    feature: str
    reason: str = Field(description="The feature's blockers joined with '; '.")


class MilestoneState(Out):
    slug: str
    title: str
    status: MilestoneStatus


class State(Out):
    """state, project status."""

    version: Literal[1]
    project: str
    features: FeatureCounts
    active_features: list[ActiveFeature] = Field(description="Classified features not archived or released.")
    active_work: list[ActiveWork]
    blocked: list[BlockedFeature]
    milestones: list[MilestoneState]
    last_updated: Timestamp | None


class ProjectStats(Out):
    """project stats."""

    features: FeatureCounts
    tasks: TaskCounts
    actions: dict[Action, int] = Field(description="Active (non-archived) features per next action.")
    open_comments: int


class Event(Out):
    """One line of .sdlc/events.jsonl (`history`)."""

    id: int
    ts: Timestamp
    actor: str
    feature: str | SkipJsonSchema[None] = Field(None, description="Omitted for project-wide events.")
    type: str = Field(description="e.g. feature.created, artifact.approve, milestone.released")
    data: dict[str, Any]


# -- doctor, init, errors ------------------------------------------------------------------------


class Problem(Out):
    path: str
    message: str
    fixable: bool


class Doctor(Out):
    """doctor [--fix] (exit 1 when problems remain)."""

    ok: bool
    problems: list[Problem]
    fixed: list[Problem]


class KeptFile(Out):
    path: str = Field(description="Relative to the root.")
    reason: NonEmpty


class PlatformPreset(Out):
    """The platform preset `init --platform NAME` added."""

    name: NonEmpty
    version: NonEmpty = Field(description="The preset template's version.")
    created: list[str] = Field(description="Scripts written (also listed in the result's `created`).")
    kept: list[KeptFile] = Field(description="Files that existed with other content: left as they are.")
    config_updated: bool = Field(description="Whether .sdlc/config.yaml changed.")
    commands_added: list[str] = Field(description="Commands added under `platform.commands`.")
    commands_kept: list[str] = Field(
        description="Commands of the preset already configured differently: the configured one is kept."
    )


class Init(Out):
    """init [--agents A,B] [--platform NAME]."""

    root: str
    already_initialized: bool
    created: list[str] = Field(description="Paths created, relative to the root (directories end in /).")
    updated: list[str] = Field(
        description="Existing files changed, relative to the root: AGENTS.md when its sdlc section "
        "is appended to it (or gets the codex command list), .sdlc/commands.lock, .sdlc/config.yaml "
        "when a platform adds commands."
    )
    agents: list[AgentName] = Field(
        description="The agents whose missing command files were installed: claude, then --agents."
    )
    kept: list[KeptFile] = Field(
        description="Existing files init did not write: command files edited or not written by sdlc, "
        "out-of-date ones (`sdlc commands update` rewrites them), platform scripts."
    )
    platform: PlatformPreset | None = Field(description="null without --platform.")


class ErrorBody(Out):
    code: ErrorCode = Field(
        description="usage_error: a malformed command line (a missing argument or subcommand, an "
        "unknown command); invalid_value: a value the parser or the engine rejects, or an unknown option."
    )
    message: NonEmpty
    hint: str | None


class Error(Out):
    """What any command prints on failure in JSON mode: exit 1, or 2 for usage_error and
    invalid_value."""

    error: ErrorBody
