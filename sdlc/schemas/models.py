"""The vocabulary and the entities of `sdlc --json` outputs: classifications, features,
artifacts, tasks, comments, scores, milestones, and the per-feature listing rows built from
them. See the package docstring for the conventions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

# -- vocabulary (kept equal to sdlc.lifecycle by the test) -------------------------------------

Phase = Literal[
    "draft",
    "specified",
    "planned",
    "ready",
    "implementation",
    "review",
    "audit",
    "qa",
    "merge",
    "released",
]
ArtifactType = Literal["spec", "design", "tasks", "qa_plan", "review", "audit", "qa_results"]
ArtifactStatus = Literal[
    "missing", "draft", "approved", "rejected", "needs_fix", "passed", "failed", "waived"
]
ArtifactCondition = Literal["fresh", "missing", "draft", "stale", "rejected", "needs_fix", "failed"]
TaskStatus = Literal["pending", "in_progress", "completed", "blocked"]
CommentFlag = Literal["blocker", "question", "decision", "fyi"]
MilestoneStatus = Literal["active", "verifying", "released", "skipped"]
Action = Literal[
    "create_spec",
    "create_design",
    "create_tasks",
    "create_qa_plan",
    "approve_spec",
    "approve_design",
    "approve_tasks",
    "approve_qa_plan",
    "approve_review",
    "approve_audit",
    "approve_merge",
    "implement_task",
    "create_review",
    "fix_review_issues",
    "create_audit",
    "run_qa",
    "fix_qa_issues",
    "merge",
    "advance",
    "unblock_dependency",
    "unblock_task",
    "wait_for_approval",
    "done",
]
Rule = Literal[
    "archived",
    "released",
    "blocked",
    "blocker_comment",
    "artifact_regressed",
    "task_ready",
    "tasks_blocked",
    "artifact_next",
    "dependency",
    "quality",
    "merge",
    "advance",
    "unclassified",
]
Timestamp = Annotated[str, Field(description="RFC 3339 UTC timestamp.")]
NonEmpty = Annotated[str, Field(min_length=1)]


class Out(BaseModel):
    """Base of every output model: unknown keys are drift, not data."""

    model_config = ConfigDict(extra="forbid")


class Preserved(BaseModel):
    """Base of the objects read from a manifest whose unknown fields sdlc keeps and prints
    (a hand-written or reference-tool manifest may hold them): any extra key is allowed."""

    model_config = ConfigDict(extra="allow")


# -- classification: next, focus, query, project blockers, milestone review --------------------


class GateRef(Out):
    """A gate configured for the action (`gates.<action>` in the config)."""

    name: str
    type: Literal["shell", "human"]


class Classification(Out):
    """What to do next for one feature (spec §3)."""

    feature: str
    title: str
    description: NonEmpty | SkipJsonSchema[None] = Field(None, description="Omitted when empty.")
    current_phase: Phase
    action: Action
    message: str
    next_command: str = Field(description='Empty ("") for `done`.')
    output_path: str | None = Field(description="Where to write the artifact, relative to the root.")
    transition_to: Phase | None
    task_id: str | None
    artifact: ArtifactType | None
    is_heavy: bool
    timeout_minutes: int
    gates: Annotated[list[GateRef], Field(min_length=1)] | SkipJsonSchema[None] = Field(
        None, description="Omitted when no gate is configured for the action."
    )
    rule: Rule


class RuleTrace(Out):
    """One rule of `next --explain`: whether it matched, and why (not)."""

    rule: Rule
    matched: bool
    reason: str


class ClassificationExplained(Classification):
    """`next --for SLUG --explain`: the classification plus the rule trace."""

    explain: list[RuleTrace]


# -- features ----------------------------------------------------------------------------------


class TaskCounts(Out):
    total: int
    pending: int
    in_progress: int
    completed: int
    blocked: int


class FeatureSummary(Out):
    """One row of `feature list` and `query search`."""

    slug: str
    title: str
    description: NonEmpty | SkipJsonSchema[None] = Field(None, description="Omitted when empty.")
    phase: Phase
    archived: bool
    created_at: Timestamp
    updated_at: Timestamp
    dependencies: list[str]
    blockers: list[str]
    tasks: TaskCounts
    open_comments: int = Field(description="Unresolved blocker and question comments.")


class ArtifactEntry(Preserved):
    """An artifact as stored in the manifest. The reference's five fields are always
    present (null or not); the later ones are omitted when unset. Unknown fields of the
    manifest entry are kept."""

    artifact_type: ArtifactType
    status: ArtifactStatus
    path: str
    created_at: Timestamp | None
    approved_at: Timestamp | None
    rejected_at: Timestamp | None
    rejection_reason: str | None
    approved_by: str | None
    waived_at: Timestamp | SkipJsonSchema[None] = None
    waive_reason: str | SkipJsonSchema[None] = None
    content_sha256: str | SkipJsonSchema[None] = None
    drafted_by: str | SkipJsonSchema[None] = None
    drafted_at: Timestamp | SkipJsonSchema[None] = None


class Task(Preserved):
    """A task as stored in the manifest; unknown fields of the manifest entry are kept."""

    id: str
    title: str
    description: str | SkipJsonSchema[None] = None
    status: TaskStatus
    created_at: Timestamp
    started_at: Timestamp | SkipJsonSchema[None] = None
    completed_at: Timestamp | SkipJsonSchema[None] = None
    blocker: str | SkipJsonSchema[None] = None
    depends_on: list[str]


class FeatureTarget(Preserved):
    kind: Literal["feature"]


class TaskTarget(Preserved):
    kind: Literal["task"]
    task_id: str


class ArtifactTarget(Preserved):
    kind: Literal["artifact"]
    artifact_type: ArtifactType


CommentTarget = Annotated[FeatureTarget | TaskTarget | ArtifactTarget, Field(discriminator="kind")]


class Comment(Preserved):
    """A comment as stored in the manifest; unknown fields of the manifest entry are kept."""

    id: str
    author: str | SkipJsonSchema[None] = None
    body: str
    flag: CommentFlag | SkipJsonSchema[None] = None
    target: CommentTarget
    created_at: Timestamp
    resolved_at: Timestamp | SkipJsonSchema[None] = None
    resolved_by: str | SkipJsonSchema[None] = None


class Deduction(Preserved):
    """Written by evaluators, passed through as found."""

    severity: str | SkipJsonSchema[None] = None
    points: int | float | SkipJsonSchema[None] = None
    description: str | SkipJsonSchema[None] = None
    location: str | SkipJsonSchema[None] = None


class Score(Preserved):
    lens: str
    score: int = Field(ge=0, le=100)
    evaluator: str
    timestamp: Timestamp
    deductions: list[Deduction]


class PhaseEntry(Preserved):
    phase: Phase
    entered: Timestamp
    exited: Timestamp | None


class Feature(Preserved):
    """`feature show`: the whole manifest, unknown top-level fields included."""

    slug: str
    title: str
    description: str | None
    phase: Phase
    created_at: Timestamp
    updated_at: Timestamp
    artifacts: list[ArtifactEntry]
    tasks: list[Task]
    comments: list[Comment]
    next_comment_seq: int
    next_task_seq: int
    blockers: list[str]
    phase_history: list[PhaseEntry]
    dependencies: list[str]
    archived: bool
    scores: list[Score]
    schema_version: int
    revision: int


# -- per-feature listings ----------------------------------------------------------------------


class ArtifactStatusRow(ArtifactEntry):
    """One row of `artifact status`."""

    file_exists: bool
    condition: ArtifactCondition


class TaskRow(Task):
    """`task get`, and one row of `task list`, `task search`, `milestone tasks`."""

    feature: str


class CommentRow(Comment):
    """One row of `comment list`."""

    feature: str


class ScoreRow(Score):
    """One row of `score history`."""

    feature: str


class LensScore(Out):
    lens: str
    score: int | None = Field(description="The counted (newest) score; null when the lens has none.")


class ScoreShow(Out):
    """score show: the counted score per lens, and the configured thresholds."""

    feature: str
    enforce: bool
    min_score_to_advance: int
    min_score_to_release: int
    lenses: list[LensScore]


# -- milestones --------------------------------------------------------------------------------


class Milestone(Preserved):
    """milestone create/info/update/release/complete/skip/cancel/add-feature/remove-feature/reorder.
    Additional keys are allowed: a milestone manifest may hold fields sdlc keeps."""

    slug: str
    title: str
    description: str | None
    vision: str | None
    status: MilestoneStatus
    features: list[str] = Field(description="Member feature slugs, in milestone order.")
    created_at: Timestamp
    updated_at: Timestamp
    released_at: Timestamp | None
    skipped_at: Timestamp | None


class MilestoneReview(Milestone):
    """milestone review: the milestone plus the classification of each member, in order."""

    review: list[Classification]
