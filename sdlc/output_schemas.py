"""The JSON documents `sdlc ... --json` prints, as pydantic models, and the JSON Schemas
published from them under `docs/schemas/` (spec/sdlc.md §5, "JSON mode").

This module only describes outputs: the CLI never imports it (it would cost start-up time,
spec §11). `python -m sdlc.output_schemas` regenerates `docs/schemas/`: one
`<name>.schema.json` per output shape, and `index.json` mapping each command to the schema
of what it prints. `tests/sdlc/test_json_schemas.py` fails when the committed files drift from
these models, and validates real CLI outputs against the committed files.

Conventions. Every model forbids unknown keys, so a new key in an output fails the test until
it is described here. A field the code omits when it has no value is optional and never null
(`T | SkipJsonSchema[None] = None`); a field the code always prints, possibly as null, is
required and nullable (`T | None`). Timestamps are RFC 3339 UTC strings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, SkipJsonSchema
from pydantic_core import core_schema

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "schemas"
INDEX_FILE = "index.json"

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
    "invalid_value",
    "usage_error",
    "internal",
    "error",
]
Timestamp = Annotated[str, Field(description="RFC 3339 UTC timestamp.")]
NonEmpty = Annotated[str, Field(min_length=1)]


class Out(BaseModel):
    """Base of every output model: unknown keys are drift, not data."""

    model_config = ConfigDict(extra="forbid")


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


class ArtifactEntry(Out):
    """An artifact as stored in the manifest. The reference's five fields are always
    present (null or not); the later ones are omitted when unset."""

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


class Task(Out):
    id: str
    title: str
    description: str | SkipJsonSchema[None] = None
    status: TaskStatus
    created_at: Timestamp
    started_at: Timestamp | SkipJsonSchema[None] = None
    completed_at: Timestamp | SkipJsonSchema[None] = None
    blocker: str | SkipJsonSchema[None] = None
    depends_on: list[str]


class FeatureTarget(Out):
    kind: Literal["feature"]


class TaskTarget(Out):
    kind: Literal["task"]
    task_id: str


class ArtifactTarget(Out):
    kind: Literal["artifact"]
    artifact_type: ArtifactType


CommentTarget = Annotated[FeatureTarget | TaskTarget | ArtifactTarget, Field(discriminator="kind")]


class Comment(Out):
    id: str
    author: str | SkipJsonSchema[None] = None
    body: str
    flag: CommentFlag | SkipJsonSchema[None] = None
    target: CommentTarget
    created_at: Timestamp
    resolved_at: Timestamp | SkipJsonSchema[None] = None
    resolved_by: str | SkipJsonSchema[None] = None


class Deduction(Out):
    severity: str
    points: int | float
    description: str
    location: str | SkipJsonSchema[None] = None


class Score(Out):
    lens: str
    score: int = Field(ge=0, le=100)
    evaluator: str
    timestamp: Timestamp
    deductions: list[Deduction]


class PhaseEntry(Out):
    phase: Phase
    entered: Timestamp
    exited: Timestamp | None


class Feature(Out):
    """`feature show`: the whole manifest."""

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


class Milestone(Out):
    """milestone create/info/update/release/complete/skip/cancel/add-feature/remove-feature/reorder."""

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


class Problem(Out):
    path: str
    message: str
    fixable: bool


class Doctor(Out):
    """doctor [--fix] (exit 1 when problems remain)."""

    ok: bool
    problems: list[Problem]
    fixed: list[Problem]


class Init(Out):
    """init."""

    root: str
    already_initialized: bool
    created: list[str] = Field(description="Paths created, relative to the root (directories end in /).")


class ErrorBody(Out):
    code: ErrorCode
    message: NonEmpty
    hint: str | None


class Error(Out):
    """What any command prints on failure in JSON mode (exit 1, or 2 for usage errors)."""

    error: ErrorBody


# -- the published schemas -------------------------------------------------------------------

# file stem → (type of the document, title, description)
SCHEMAS: dict[str, tuple[Any, str, str]] = {
    "classification": (Classification, "Classification", "sdlc next --for SLUG"),
    "classification-explain": (
        ClassificationExplained,
        "Classification with rule trace",
        "sdlc next --for SLUG --explain",
    ),
    "classification-list": (
        list[Classification],
        "Classifications",
        "sdlc next; sdlc query blocked|ready|needs-approval; sdlc project blockers ([] when none)",
    ),
    "focus": (Classification | None, "Focus", "sdlc focus: the most urgent item, or null"),
    "feature-summary-list": (
        list[FeatureSummary],
        "Feature summaries",
        "sdlc feature list; sdlc query search",
    ),
    "feature": (Feature, "Feature", "sdlc feature show SLUG: the whole manifest"),
    "feature-result": (
        FeatureResult,
        "Feature mutation result",
        "sdlc feature create|update|transition|archive|unarchive|block|unblock; sdlc archive; sdlc merge",
    ),
    "artifact-result": (ArtifactResult, "Artifact move result", "sdlc artifact draft|approve|...|unwaive"),
    "artifact-status-list": (list[ArtifactStatusRow], "Artifact status", "sdlc artifact status SLUG"),
    "task-result": (TaskResult, "Task mutation result", "sdlc task add|start|complete|...|edit|remove"),
    "task": (TaskRow, "Task", "sdlc task get SLUG ID"),
    "task-list": (list[TaskRow], "Tasks", "sdlc task list [SLUG]; sdlc task search; sdlc milestone tasks"),
    "comment-result": (CommentResult, "Comment mutation result", "sdlc comment create|resolve|remove"),
    "comment-list": (list[CommentRow], "Comments", "sdlc comment list SLUG"),
    "score-result": (ScoreResult, "Score set result", "sdlc score set"),
    "score-show": (ScoreShow, "Counted scores", "sdlc score show SLUG"),
    "score-history": (list[ScoreRow], "Score history", "sdlc score history SLUG"),
    "milestone": (Milestone, "Milestone", "sdlc milestone create|info|update|release|skip|..."),
    "milestone-list": (list[Milestone], "Milestones", "sdlc milestone list"),
    "milestone-review": (MilestoneReview, "Milestone review", "sdlc milestone review SLUG"),
    "state": (State, "Project state", "sdlc state; sdlc project status"),
    "project-stats": (ProjectStats, "Project statistics", "sdlc project stats"),
    "history": (list[Event], "Events", "sdlc history"),
    "doctor": (Doctor, "Doctor report", "sdlc doctor [--fix]"),
    "init": (Init, "Init result", "sdlc init"),
    "error": (Error, "Error", "Any command that fails, in JSON mode"),
}

_M = "milestone"
# command (as a user types it) → schema stem
COMMANDS: dict[str, str] = {
    "sdlc init": "init",
    "sdlc state": "state",
    "sdlc next": "classification-list",
    "sdlc next --for SLUG": "classification",
    "sdlc next --for SLUG --explain": "classification-explain",
    "sdlc focus": "focus",
    "sdlc history": "history",
    "sdlc merge SLUG": "feature-result",
    "sdlc archive SLUG": "feature-result",
    "sdlc doctor": "doctor",
    "sdlc feature create SLUG": "feature-result",
    "sdlc feature list": "feature-summary-list",
    "sdlc feature show SLUG": "feature",
    "sdlc feature update SLUG": "feature-result",
    "sdlc feature transition SLUG PHASE": "feature-result",
    "sdlc feature archive SLUG": "feature-result",
    "sdlc feature unarchive SLUG": "feature-result",
    "sdlc feature block SLUG REASON...": "feature-result",
    "sdlc feature unblock SLUG": "feature-result",
    **{
        f"sdlc artifact {move} SLUG TYPE": "artifact-result"
        for move in ("draft", "approve", "reject", "pass", "fail", "waive", "unwaive")
    },
    "sdlc artifact status SLUG": "artifact-status-list",
    "sdlc task add SLUG TITLE...": "task-result",
    **{
        f"sdlc task {move} SLUG ID": "task-result"
        for move in ("start", "complete", "unblock", "reopen", "remove", "edit")
    },
    "sdlc task block SLUG ID REASON...": "task-result",
    "sdlc task get SLUG ID": "task",
    "sdlc task list [SLUG]": "task-list",
    "sdlc task search QUERY": "task-list",
    "sdlc comment create SLUG BODY": "comment-result",
    "sdlc comment list SLUG": "comment-list",
    "sdlc comment resolve SLUG ID": "comment-result",
    "sdlc comment remove SLUG ID": "comment-result",
    f"sdlc {_M} create SLUG --title T": "milestone",
    f"sdlc {_M} list": "milestone-list",
    f"sdlc {_M} info SLUG": "milestone",
    f"sdlc {_M} tasks SLUG": "task-list",
    f"sdlc {_M} add-feature SLUG FEATURE": "milestone",
    f"sdlc {_M} remove-feature SLUG FEATURE": "milestone",
    f"sdlc {_M} reorder SLUG FEATURE...": "milestone",
    f"sdlc {_M} review SLUG": "milestone-review",
    f"sdlc {_M} update SLUG": "milestone",
    f"sdlc {_M} release SLUG": "milestone",
    f"sdlc {_M} complete SLUG": "milestone",
    f"sdlc {_M} skip SLUG": "milestone",
    f"sdlc {_M} cancel SLUG": "milestone",
    "sdlc score set SLUG --lens L --value N": "score-result",
    "sdlc score show SLUG": "score-show",
    "sdlc score history SLUG": "score-history",
    "sdlc query blocked": "classification-list",
    "sdlc query ready": "classification-list",
    "sdlc query needs-approval": "classification-list",
    "sdlc query search TEXT": "feature-summary-list",
    "sdlc project status": "state",
    "sdlc project stats": "project-stats",
    "sdlc project blockers": "classification-list",
    "sdlc ... (any error)": "error",
}


class _Generator(GenerateJsonSchema):
    """Pydantic's Draft 2020-12 output without property titles and defaults: the defaults
    only mark keys the CLI omits, they are never printed."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])


def file_name(stem: str) -> str:
    return f"{stem}.schema.json"


def schema_files() -> dict[str, dict[str, Any]]:
    """Every published schema, keyed by file name."""
    files: dict[str, dict[str, Any]] = {}
    for stem, (kind, title, description) in SCHEMAS.items():
        generated = TypeAdapter(kind).json_schema(schema_generator=_Generator)
        generated.pop("title", None)
        generated.pop("description", None)
        files[file_name(stem)] = {
            "$schema": DRAFT,
            "title": title,
            "description": description,
            **generated,
        }
    return files


def schema_index() -> dict[str, str]:
    """`index.json`: each command → the file name of the schema of what it prints."""
    return {command: file_name(stem) for command, stem in COMMANDS.items()}


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def rendered_files() -> dict[str, str]:
    """The exact content of every file under docs/schemas/, keyed by file name."""
    files = {name: render(doc) for name, doc in schema_files().items()}
    files[INDEX_FILE] = render(schema_index())
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sdlc.output_schemas", description="Regenerate docs/schemas/."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    out: Path = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    files = rendered_files()
    for stale in sorted(out.glob("*.schema.json")):
        if stale.name not in files:
            stale.unlink()
            sys.stdout.write(f"removed {stale}\n")
    for name, text in files.items():
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
