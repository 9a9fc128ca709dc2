"""The classifier (spec/sdlc.md §3): a pure function from a feature, the config, its artifact
files and its dependencies to the one action that comes next. Rules: first match wins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sdlc.config import Config
from sdlc.criteria import (
    DependencyStates,
    FileHashes,
    artifact_condition,
    dependency_failures,
    exit_criteria,
    passes,
    quality_failures,
)
from sdlc.lifecycle import ACTIONS, ARTIFACT_ACTIONS, ARTIFACT_FILES, PHASE_INDEX
from sdlc.model import Feature, Task

CYCLE_MESSAGE = "depends_on cycle: fix it with `sdlc task edit --depends`"


@dataclass(eq=False, repr=False)
class Classification:
    feature: str
    title: str
    description: str | None
    current_phase: str
    action: str
    message: str
    rule: str
    transition_to: str | None = None
    task_id: str | None = None
    artifact: str | None = None
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def next_command(self) -> str:
        return ACTIONS[self.action].command.format(
            slug=self.feature,
            artifact=self.artifact,
            task_id=self.task_id,
            phase=self.transition_to,
        )

    @property
    def output_path(self) -> str | None:
        if self.artifact is None or self.action.startswith("approve_"):
            return None
        return f".sdlc/features/{self.feature}/{ARTIFACT_FILES[self.artifact]}"

    def to_dict(self) -> dict[str, Any]:
        spec = ACTIONS[self.action]
        data: dict[str, Any] = {"feature": self.feature, "title": self.title}
        if self.description:
            data["description"] = self.description
        data.update(
            current_phase=self.current_phase,
            action=self.action,
            message=self.message,
            next_command=self.next_command,
            output_path=self.output_path,
            transition_to=self.transition_to,
            task_id=self.task_id,
            artifact=self.artifact,
            is_heavy=spec.heavy,
            timeout_minutes=spec.minutes,
        )
        if self.gates:
            data["gates"] = self.gates
        data["rule"] = self.rule
        return data


@dataclass(eq=False, repr=False)
class RuleTrace:
    """One line of `next --explain`: a rule and why it matched or did not."""

    rule: str
    matched: bool
    reason: str


class _Classifier:
    def __init__(self, feature: Feature, config: Config, files: FileHashes, deps: DependencyStates) -> None:
        self.f = feature
        self.config = config
        self.files = files
        self.deps = deps
        self.trace: list[RuleTrace] = []
        self.next_phase = config.next_enabled(feature.phase)

    def result(self, rule: str, action: str, message: str, **extra: Any) -> Classification:
        self.trace.append(RuleTrace(rule, True, message))
        return Classification(
            feature=self.f.slug,
            title=self.f.title,
            description=self.f.description,
            current_phase=self.f.phase,
            action=action,
            message=message,
            rule=rule,
            gates=[{"name": g["name"], "type": g["type"]} for g in self.config.gates.get(action, [])],
            **extra,
        )

    def skip(self, rule: str, reason: str) -> None:
        self.trace.append(RuleTrace(rule, False, reason))

    def artifact_action(self, rule: str, kinds: tuple[str, ...]) -> Classification | None:
        for kind in kinds:
            art = self.f.find_artifact(kind)
            condition = artifact_condition(self.f, art, self.config, self.files)
            if condition == "fresh":
                continue
            create, approve, rewrite = ARTIFACT_ACTIONS[kind]
            if condition == "missing":
                action, verb = create, "is missing: write it"
            elif condition in ("draft", "stale"):
                action = approve
                verb = (
                    "changed since its approval: approve it again"
                    if condition == "stale"
                    else "is a draft awaiting approval"
                )
                # Rule 6's exception: no human approval for a review whose scores already fail.
                if (
                    rule == "artifact_next"
                    and kind == "review"
                    and condition == "draft"
                    and self.review_fails_quality()
                ):
                    action, verb = (
                        "fix_review_issues",
                        "scores fail the quality threshold: fix the findings",
                    )
            else:
                action = rewrite
                reason = f" ({art.rejection_reason})" if art.rejection_reason else ""
                verb = f"is {condition}{reason}: rewrite it"
            return self.result(rule, action, f"Artifact '{kind}' of '{self.f.slug}' {verb}.", artifact=kind)
        return None

    def review_fails_quality(self) -> bool:
        return bool(self.next_phase and quality_failures(self.f, self.config, self.f.phase, self.next_phase))

    def task_action(self) -> Classification | None:
        tasks = self.f.tasks
        by_id = {t.id: t for t in tasks}
        unfinished = [t for t in tasks if t.status != "completed"]
        if not unfinished:
            return None

        def open_deps(task: Task) -> list[Task]:
            return [by_id[d] for d in task.depends_on if d in by_id and by_id[d].status != "completed"]

        for task in tasks:
            if task.status in ("pending", "in_progress") and not open_deps(task):
                return self.result(
                    "task_ready",
                    "implement_task",
                    f"Implement task {task.id} of '{self.f.slug}': {task.title}",
                    task_id=task.id,
                )
        blocked = _find_blocked(unfinished[0], open_deps, set())
        if blocked is not None:
            reason = f": {blocked.blocker}" if blocked.blocker else ""
            return self.result(
                "tasks_blocked",
                "unblock_task",
                f"Task {blocked.id} of '{self.f.slug}' is blocked{reason}",
                task_id=blocked.id,
            )
        first_in_cycle = _first_revisited(unfinished[0], open_deps)
        return self.result("tasks_blocked", "unblock_task", CYCLE_MESSAGE, task_id=first_in_cycle.id)

    def classify(self) -> Classification:
        f, phase = self.f, self.f.phase
        if f.archived:
            return self.result("archived", "done", f"Feature '{f.slug}' is archived.")
        self.skip("archived", "feature is not archived")
        if phase == "released" or self.next_phase is None:
            return self.result("released", "done", f"Feature '{f.slug}' is released.")
        self.skip("released", f"feature is in {phase}")
        target = self.next_phase
        if f.blockers:
            return self.result(
                "blocked",
                "unblock_dependency",
                f"Feature '{f.slug}' is blocked: " + "; ".join(f.blockers),
            )
        self.skip("blocked", "no feature blockers")
        stopping = [c for c in f.comments if c.stops_pipeline]
        if stopping:
            listed = "; ".join(f"[{c.id}] {c.body}" for c in stopping)
            return self.result(
                "blocker_comment",
                "wait_for_approval",
                f"Feature '{f.slug}' has {len(stopping)} unresolved blocker comment(s): {listed}",
            )
        self.skip("blocker_comment", "no unresolved blocker or question comments")
        required_here = self.config.cumulative_required[phase]
        found = self.artifact_action("artifact_regressed", required_here)
        if found:
            return found
        self.skip("artifact_regressed", f"every artifact required by {phase} is fresh")
        if PHASE_INDEX[phase] >= PHASE_INDEX["implementation"] or passes(phase, target, "implementation"):
            found = self.task_action()
            if found:
                return found
            self.skip("task_ready", "every task is completed")
        else:
            self.skip("task_ready", "tasks act from implementation on")
        new = tuple(a for a in self.config.cumulative_required[target] if a not in required_here)
        found = self.artifact_action("artifact_next", new)
        if found:
            return found
        self.skip("artifact_next", f"every artifact {target} adds is fresh")
        if passes(phase, target, "ready"):
            failures = dependency_failures(f, self.deps)
            if failures:
                return self.result(
                    "dependency",
                    "unblock_dependency",
                    f"Feature '{f.slug}' waits for its dependencies: " + "; ".join(failures),
                )
            self.skip("dependency", "every dependency is released or archived")
        else:
            self.skip("dependency", "the hop does not pass ready")
        low = quality_failures(f, self.config, phase, target)
        if low:
            listed = "; ".join(
                f"lens '{q.lens}' scored {'none' if q.score is None else q.score}, needs {q.threshold}"
                for q in low
            )
            return self.result(
                "quality", "fix_review_issues", f"Quality below threshold for '{f.slug}': {listed}"
            )
        self.skip("quality", "no counted score below its threshold")
        if phase == "merge":
            return self.result("merge", "merge", f"Merge '{f.slug}', then run `sdlc merge {f.slug}`.")
        self.skip("merge", "feature is not in merge")
        unmet = exit_criteria(f, self.config, self.files, self.deps)
        if not unmet:
            return self.result(
                "advance",
                "advance",
                f"Advance '{f.slug}' from {phase} to {target}.",
                transition_to=target,
            )
        self.skip("advance", unmet[0].message)
        statuses = ", ".join(f"{a.artifact_type}={a.status}" for a in f.artifacts)
        return self.result(
            "unclassified",
            "wait_for_approval",
            f"Feature '{f.slug}' in {phase} matches no rule ({unmet[0].message}); artifacts: {statuses}",
        )


def _find_blocked(task: Task, open_deps: Any, seen: set[str]) -> Task | None:
    """Depth-first along depends_on from `task` to the first blocked task."""
    if task.status == "blocked":
        return task
    seen.add(task.id)
    for dep in open_deps(task):
        if dep.id not in seen:
            found = _find_blocked(dep, open_deps, seen)
            if found is not None:
                return found
    return None


def _first_revisited(task: Task, open_deps: Any) -> Task:
    """Follow the first open dependency until a task repeats: the first task of the cycle."""
    seen: set[str] = set()
    while task.id not in seen:
        seen.add(task.id)
        deps = open_deps(task)
        if not deps:
            return task
        task = deps[0]
    return task


def classify(feature: Feature, config: Config, files: FileHashes, deps: DependencyStates) -> Classification:
    """The next action for `feature`. Pure: reads only its arguments."""
    return _Classifier(feature, config, files, deps).classify()


def explain(
    feature: Feature, config: Config, files: FileHashes, deps: DependencyStates
) -> tuple[Classification, list[RuleTrace]]:
    """The classification plus, per rule tried, why it matched or did not."""
    classifier = _Classifier(feature, config, files, deps)
    result = classifier.classify()
    return result, classifier.trace
