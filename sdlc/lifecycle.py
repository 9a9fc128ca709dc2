"""The fixed vocabulary of the lifecycle: phases, artifacts, actions (spec/sdlc.md §2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PHASES: Final = (
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
)
PHASE_INDEX: Final = {p: i for i, p in enumerate(PHASES)}
UNDISABLEABLE_PHASES: Final = ("draft", "merge", "released")

ARTIFACTS: Final = ("spec", "design", "tasks", "qa_plan", "review", "audit", "qa_results")
ARTIFACT_FILES: Final = {
    "spec": "spec.md",
    "design": "design.md",
    "tasks": "tasks.md",
    "qa_plan": "qa-plan.md",
    "review": "review.md",
    "audit": "audit.md",
    "qa_results": "qa-results.md",
}
ARTIFACT_ALIASES: Final = {"qa-plan": "qa_plan", "qa-results": "qa_results"}

ARTIFACT_STATUSES: Final = (
    "missing",
    "draft",
    "approved",
    "rejected",
    "needs_fix",
    "passed",
    "failed",
    "waived",
)
SATISFIED_STATUSES: Final = frozenset({"approved", "passed", "waived"})
REWRITE_STATUSES: Final = frozenset({"rejected", "needs_fix", "failed"})

TASK_STATUSES: Final = ("pending", "in_progress", "completed", "blocked")
COMMENT_FLAGS: Final = ("blocker", "question", "decision", "fyi")
STOPPING_FLAGS: Final = frozenset({"blocker", "question"})


@dataclass(eq=False, repr=False)
class ActionSpec:
    """One row of the action table: who runs it, how heavy, where `next_command` points."""

    name: str
    heavy: bool
    minutes: int
    by: str  # agent | human | sdlc | none
    skeleton: str | None
    command: str  # format string over slug, artifact, task_id, phase


def _row(
    name: str, heavy: bool, minutes: int, by: str, skeleton: str | None, command: str
) -> tuple[str, ActionSpec]:
    return name, ActionSpec(name, heavy, minutes, by, skeleton, command)


ACTIONS: Final = dict(
    [
        _row("create_spec", False, 10, "agent", "sdlc-spec", "/sdlc-spec {slug}"),
        _row("create_design", False, 10, "agent", "sdlc-design", "/sdlc-design {slug}"),
        _row("create_tasks", False, 10, "agent", "sdlc-tasks", "/sdlc-tasks {slug}"),
        _row("create_qa_plan", False, 10, "agent", "sdlc-qa-plan", "/sdlc-qa-plan {slug}"),
        *[
            _row(
                f"approve_{a}",
                False,
                10,
                "human",
                "sdlc-approve",
                "sdlc artifact approve {slug} {artifact}",
            )
            for a in ("spec", "design", "tasks", "qa_plan", "review", "audit")
        ],
        _row(
            "approve_merge",
            False,
            10,
            "human",
            "sdlc-approve",
            "sdlc artifact approve {slug} qa_results",
        ),
        _row(
            "implement_task",
            True,
            45,
            "agent",
            "sdlc-implement",
            "/sdlc-implement {slug} {task_id}",
        ),
        _row("create_review", False, 10, "agent", "sdlc-review", "/sdlc-review {slug}"),
        _row("fix_review_issues", True, 45, "agent", "sdlc-fix-review", "/sdlc-fix-review {slug}"),
        _row("create_audit", False, 10, "agent", "sdlc-audit", "/sdlc-audit {slug}"),
        _row("run_qa", True, 45, "agent", "sdlc-qa", "/sdlc-qa {slug}"),
        _row("fix_qa_issues", True, 45, "agent", "sdlc-fix-qa", "/sdlc-fix-qa {slug}"),
        _row("merge", False, 10, "agent", "sdlc-merge", "/sdlc-merge {slug}"),
        _row("advance", False, 1, "sdlc", None, "sdlc feature transition {slug} {phase}"),
        _row("unblock_dependency", False, 10, "human", "sdlc-unblock", "sdlc feature show {slug}"),
        _row("unblock_task", False, 10, "human", "sdlc-unblock", "sdlc task list {slug}"),
        _row("wait_for_approval", False, 10, "human", "sdlc-unblock", "sdlc comment list {slug}"),
        _row("done", False, 0, "none", None, ""),
    ]
)

HUMAN_ACTIONS: Final = frozenset(a for a, s in ACTIONS.items() if s.by == "human")
AGENT_ACTIONS: Final = frozenset(a for a, s in ACTIONS.items() if s.by == "agent")

# Artifact → (action when missing, action when draft or stale, action when it must be rewritten)
ARTIFACT_ACTIONS: Final = {
    "spec": ("create_spec", "approve_spec", "create_spec"),
    "design": ("create_design", "approve_design", "create_design"),
    "tasks": ("create_tasks", "approve_tasks", "create_tasks"),
    "qa_plan": ("create_qa_plan", "approve_qa_plan", "create_qa_plan"),
    "review": ("create_review", "approve_review", "fix_review_issues"),
    "audit": ("create_audit", "approve_audit", "create_audit"),
    "qa_results": ("run_qa", "approve_merge", "fix_qa_issues"),
}


def normalize_artifact(name: str) -> str | None:
    """The canonical artifact type for `name` (accepts the hyphenated spellings), else None."""
    name = ARTIFACT_ALIASES.get(name, name)
    return name if name in ARTIFACT_FILES else None


def phase_before(a: str, b: str) -> bool:
    return PHASE_INDEX[a] < PHASE_INDEX[b]
