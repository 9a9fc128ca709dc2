"""Task use cases (spec/sdlc.md §2, "Tasks")."""

from __future__ import annotations

from typing import Any

from sdlc.errors import DependencyCycle, InvalidTransition, TaskNotFound, UsageError
from sdlc.lifecycle import PHASE_INDEX
from sdlc.model import Feature, Task
from sdlc.names import check_names, check_task_id
from sdlc.ops.common import feature_row
from sdlc.store import Store
from sdlc.transaction import Transaction

# move → (statuses it is allowed from, status it leads to)
TASK_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "start": (("pending",), "in_progress"),
    "complete": (("pending", "in_progress"), "completed"),
    "block": (("pending", "in_progress"), "blocked"),
    "unblock": (("blocked",), "pending"),
    "reopen": (("completed",), "pending"),
}


def _task(feature: Feature, task_id: str) -> Task:
    check_task_id(task_id)
    task = feature.task(task_id)
    if task is None:
        raise TaskNotFound(
            f"task {task_id} not found in feature '{feature.slug}'",
            hint=f"see `sdlc task list {feature.slug}`",
        )
    return task


def _after_review(feature: Feature, what: str, force: bool) -> None:
    if not force and PHASE_INDEX[feature.phase] >= PHASE_INDEX["review"]:
        raise InvalidTransition(
            f"cannot {what} in feature '{feature.slug}': it is in {feature.phase}; "
            "new work after review belongs in a new feature",
            hint="pass --force to add it to this feature anyway",
        )


def _result(feature: Feature, task: Task | None, hops: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    return {
        "feature": feature.slug,
        "phase": feature.phase,
        "task": task.to_dict() if task else None,
        **extra,
        "transitioned": hops.get(feature.slug, []),
    }


def _check_depends(feature: Feature, task_id: str, depends: list[str]) -> None:
    for dep in depends:
        if dep == task_id:
            raise DependencyCycle(f"dependency cycle detected: {task_id} → {task_id}")
        if feature.task(dep) is None:
            raise TaskNotFound(
                f"task {dep} not found in feature '{feature.slug}'",
                hint=f"see `sdlc task list {feature.slug}`",
            )
    graph = {t.id: list(t.depends_on) for t in feature.tasks}
    graph[task_id] = depends
    trail = _cycle_from(graph, task_id, [task_id])
    if trail:
        raise DependencyCycle("dependency cycle detected: " + " → ".join(trail))


def _cycle_from(graph: dict[str, list[str]], node: str, trail: list[str]) -> list[str] | None:
    for dep in graph.get(node, []):
        if dep == trail[0]:
            return [*trail, dep]
        if dep not in trail:
            found = _cycle_from(graph, dep, [*trail, dep])
            if found:
                return found
    return None


def add_task(
    store: Store,
    actor: str,
    slug: str,
    title: str,
    description: str | None = None,
    depends: list[str] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    if not title.strip():
        raise UsageError("missing required argument: task title", hint="sdlc task add SLUG TITLE...")
    check_names([slug], depends or [])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        _after_review(feature, "add a task", force)
        task_id = f"T{feature.next_task_seq}"
        while feature.task(task_id) is not None:  # hand-edited ids
            feature.next_task_seq += 1
            task_id = f"T{feature.next_task_seq}"
        _check_depends(feature, task_id, depends or [])
        task = Task(
            task_id,
            title.strip(),
            description=description,
            created_at=tx.at,
            depends_on=depends or [],
        )
        feature.tasks.append(task)
        feature.next_task_seq += 1
        tx.save(feature)
        tx.event("task.added", slug, task_id=task_id, title=task.title)
        hops = tx.commit()
    return _result(feature, task, hops)


def move_task(
    store: Store,
    actor: str,
    slug: str,
    task_id: str,
    move: str,
    reason: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    allowed, target = TASK_MOVES[move]
    if move == "block" and not reason:
        raise UsageError(
            "missing required argument: a reason",
            hint=f"sdlc task block {slug} {task_id} REASON...",
        )
    check_names([slug], [task_id])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        task = _task(feature, task_id)
        if move == "reopen":
            _after_review(feature, "reopen a task", force)
        changed = task.status != target or (move == "block" and task.blocker != reason)
        if changed:
            if task.status not in allowed:
                raise InvalidTransition(
                    f"cannot {move} task {task_id} of '{slug}': it is {task.status}",
                    hint=f"see `sdlc task get {slug} {task_id}`",
                )
            task.status = target
            if move == "start":
                task.started_at = tx.at
            elif move == "complete":
                task.completed_at = tx.at
            elif move == "block":
                task.blocker = reason
            elif move == "unblock":
                task.blocker = None
            elif move == "reopen":
                task.completed_at = None
            tx.save(feature)
            tx.event(f"task.{move}", slug, task_id=task_id, status=target, reason=reason)
        hops = tx.commit()
    return _result(feature, task, hops, changed=changed)


def edit_task(
    store: Store,
    actor: str,
    slug: str,
    task_id: str,
    title: str | None = None,
    description: str | None = None,
    depends: list[str] | None = None,
) -> dict[str, Any]:
    check_names([slug], [task_id, *(depends or [])])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        task = _task(feature, task_id)
        changes: dict[str, Any] = {}
        if title is not None:
            task.title = changes["title"] = title
        if description is not None:
            task.description = changes["description"] = description or None
        if depends is not None:
            _check_depends(feature, task_id, depends)
            task.depends_on = changes["depends_on"] = depends
        if not changes:
            raise UsageError(
                "missing required argument: nothing to edit",
                hint="give --title, --description or --depends",
            )
        tx.save(feature)
        tx.event("task.edited", slug, task_id=task_id, **changes)
        hops = tx.commit()
    return _result(feature, task, hops, changes=changes)


def remove_task(store: Store, actor: str, slug: str, task_id: str) -> dict[str, Any]:
    check_names([slug], [task_id])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        task = _task(feature, task_id)
        dependents = [t.id for t in feature.tasks if task_id in t.depends_on]
        if dependents:
            raise InvalidTransition(
                f"cannot remove task {task_id} of '{slug}': {', '.join(dependents)} depend on it",
                hint="edit their --depends first",
            )
        feature.tasks.remove(task)
        tx.save(feature)
        tx.event("task.removed", slug, task_id=task_id)
        hops = tx.commit()
    return _result(feature, task, hops)


def get_task(store: Store, slug: str, task_id: str) -> dict[str, Any]:
    feature = store.load_feature(slug)
    return feature_row(slug, _task(feature, task_id).to_dict())


def list_tasks(store: Store, slug: str) -> list[dict[str, Any]]:
    feature = store.load_feature(slug)
    return [feature_row(slug, t.to_dict()) for t in feature.tasks]
