"""Read-only views over every feature: next, focus, state, history, query, project."""

from __future__ import annotations

from typing import Any

from sdlc.errors import CorruptFile
from sdlc.events import recent_events
from sdlc.index import Index, load_index
from sdlc.lifecycle import ACTIONS, AGENT_ACTIONS, PHASES
from sdlc.ops.common import feature_row
from sdlc.ops.milestones import milestone_status
from sdlc.store import Store

BLOCKED_ACTIONS = frozenset({"unblock_dependency", "unblock_task"})


def active_classifications(index: Index) -> list[dict[str, Any]]:
    return [e.classification for e in index.entries if e.classification and not e.summary["archived"]]


def next_all(store: Store) -> tuple[list[dict[str, Any]], list[str]]:
    index = load_index(store)
    return active_classifications(index), index.warnings


def _milestones(store: Store) -> list[Any]:
    milestones = []
    for slug in store.milestone_slugs():
        try:
            milestones.append(store.load_milestone(slug))
        except CorruptFile:
            continue
    return sorted(milestones, key=lambda m: (m.created_at, m.slug))


def focus(store: Store, include_human: bool = False) -> tuple[dict[str, Any] | None, list[str]]:
    """The most urgent actionable item: by milestone order, then creation."""
    index = load_index(store)
    rank: dict[str, tuple[int, int]] = {}
    for m_pos, milestone in enumerate(_milestones(store)):
        if milestone.released_at or milestone.skipped_at:
            continue
        for f_pos, slug in enumerate(milestone.features):
            rank.setdefault(slug, (m_pos, f_pos))
    wanted = AGENT_ACTIONS | {"advance"}
    candidates = []
    for position, c in enumerate(active_classifications(index)):
        by = ACTIONS[c["action"]].by
        if c["action"] in wanted or (include_human and by == "human"):
            candidates.append((rank.get(c["feature"], (len(rank) + 1, 0)), position, c))
    candidates.sort(key=lambda item: (item[0], item[1]))
    return (candidates[0][2] if candidates else None), index.warnings


def history(store: Store, feature: str | None, limit: int) -> list[dict[str, Any]]:
    store.require_initialized()
    if feature is not None:
        store.load_feature(feature)  # validates the slug and that it exists
    return recent_events(store.paths.events, limit, feature)


def state_view(store: Store) -> tuple[dict[str, Any], list[str]]:
    index = load_index(store)
    stored = store.read_state() or {}
    by_phase = dict.fromkeys(PHASES, 0)
    archived = 0
    for entry in index.entries:
        if entry.summary["archived"]:
            archived += 1
        else:
            by_phase[entry.summary["phase"]] += 1
    phases = {e.slug: (e.summary["phase"], e.summary["archived"]) for e in index.entries}
    active = [
        {"feature": c["feature"], "phase": c["current_phase"], "action": c["action"]}
        for c in active_classifications(index)
        if c["current_phase"] != "released"
    ]
    view = {
        "version": 1,
        "project": store.config.project_name,
        "features": {"total": len(index.entries), "archived": archived, "by_phase": by_phase},
        "active_features": active,
        "active_work": stored.get("active_work") or [],
        "blocked": [
            {"feature": e.slug, "reason": "; ".join(e.summary["blockers"])}
            for e in index.entries
            if e.summary["blockers"] and not e.summary["archived"]
        ],
        "milestones": [
            {"slug": m.slug, "title": m.title, "status": milestone_status(m, dict(phases))}
            for m in _milestones(store)
        ],
        "last_updated": stored.get("last_updated"),
    }
    return view, index.warnings


def query(store: Store, which: str) -> tuple[list[dict[str, Any]], list[str]]:
    """blocked | ready | needs-approval over every active feature."""
    index = load_index(store)
    rows = active_classifications(index)
    if which == "ready":
        rows = [c for c in rows if c["action"] in AGENT_ACTIONS]
    elif which == "needs-approval":
        rows = [c for c in rows if c["action"].startswith("approve_")]
    else:
        rows = [c for c in rows if c["action"] in BLOCKED_ACTIONS or c["rule"] == "blocker_comment"]
    return rows, index.warnings


def search(store: Store, text: str, limit: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Features whose slug, title or description contains `text` (case-insensitive)."""
    index = load_index(store, classify=False)
    needle = text.lower()
    rows = [
        e.summary
        for e in index.entries
        if needle in e.slug
        or needle in e.summary["title"].lower()
        or needle in (e.summary.get("description") or "").lower()
    ]
    return rows[:limit], index.warnings


def search_tasks(
    store: Store, text: str, slug: str | None, limit: int
) -> tuple[list[dict[str, Any]], list[str]]:
    store.require_initialized()
    needle = text.lower()
    slugs = [slug] if slug else store.feature_slugs()
    rows: list[dict[str, Any]] = []
    warnings = []
    for name in slugs:
        try:
            feature = store.load_feature(name)
        except CorruptFile as err:
            if slug:
                raise
            warnings.append(err.message)
            continue
        for task in feature.tasks:
            if (
                needle in task.title.lower()
                or needle in (task.description or "").lower()
                or needle == task.id.lower()
            ):
                rows.append(feature_row(name, task.to_dict()))
    return rows[:limit], warnings


def project_stats(store: Store) -> tuple[dict[str, Any], list[str]]:
    index = load_index(store)
    tasks = {"total": 0, "pending": 0, "in_progress": 0, "completed": 0, "blocked": 0}
    actions: dict[str, int] = {}
    for entry in index.entries:
        for key in tasks:
            tasks[key] += entry.summary["tasks"][key]
        if entry.classification and not entry.summary["archived"]:
            action = entry.classification["action"]
            actions[action] = actions.get(action, 0) + 1
    view, _ = state_view(store)
    return {
        "features": view["features"],
        "tasks": tasks,
        "actions": dict(sorted(actions.items())),
        "open_comments": sum(e.summary["open_comments"] for e in index.entries),
    }, index.warnings
