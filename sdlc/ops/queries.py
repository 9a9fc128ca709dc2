"""Read-only views over every feature: next, focus, state, history, query, project."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from sdlc.errors import CorruptFile
from sdlc.events import recent_events
from sdlc.index import Index, IndexEntry, load_index
from sdlc.jsontext import JsonList
from sdlc.lifecycle import ACTIONS, AGENT_ACTIONS, PHASES
from sdlc.ops.common import feature_row
from sdlc.statcache import cached_by_stat
from sdlc.store import Store

if TYPE_CHECKING:
    from sdlc.milestones import Milestone

BLOCKED_ACTIONS = frozenset({"unblock_dependency", "unblock_task"})
QUERIES = ("blocked", "ready", "needs-approval")


def _classified(index: Index) -> list[IndexEntry]:
    """Every non-archived feature, with its classification."""
    return [e for e in index.entries if e.classification_json and not e.archived]


def next_all(store: Store) -> tuple[JsonList, list[str]]:
    index = load_index(store)
    return JsonList(
        e.classification_json for e in _classified(index) if e.classification_json
    ), index.warnings


def _milestones(store: Store) -> list[Milestone]:
    milestones = []
    for slug in store.milestone_slugs():
        with contextlib.suppress(CorruptFile):
            milestones.append(store.load_milestone(slug))
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
    best: tuple[tuple[int, int], int, IndexEntry] | None = None
    for position, entry in enumerate(_classified(index)):
        action = entry.action or "done"
        if action in wanted or (include_human and ACTIONS[action].by == "human"):
            candidate = (rank.get(entry.slug, (len(rank) + 1, 0)), position, entry)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return (best[2].classification if best else None), index.warnings


def history(store: Store, feature: str | None, limit: int) -> list[dict[str, Any]]:
    store.require_initialized()
    if feature is not None:
        store.load_feature(feature)  # validates the slug and that it exists
    return recent_events(store.paths.events, limit, feature)


def _feature_counts(index: Index) -> dict[str, Any]:
    by_phase = dict.fromkeys(PHASES, 0)
    for entry in index.entries:
        if not entry.archived:
            by_phase[entry.phase] += 1
    archived = sum(1 for e in index.entries if e.archived)
    return {"total": len(index.entries), "archived": archived, "by_phase": by_phase}


def _stored_state(store: Store) -> dict[str, Any]:
    """`active_work` and `last_updated` of state.yaml: at 10,000 features the file is large and
    the view needs nothing else from it."""

    def extract() -> dict[str, Any]:
        state = store.read_state() or {}
        return {"active_work": state.get("active_work") or [], "last_updated": state.get("last_updated")}

    return dict(cached_by_stat(store.paths.state, store.paths.cache / "state.json", extract))


def state_view(store: Store) -> tuple[dict[str, Any], list[str]]:
    from sdlc.milestones import milestone_status

    index = load_index(store)
    stored = _stored_state(store)
    phases = {e.slug: (e.phase, e.archived) for e in index.entries}
    view = {
        "version": 1,
        "project": store.config.project_name,
        "features": _feature_counts(index),
        "active_features": [
            {"feature": e.slug, "phase": e.phase, "action": e.action} for e in _classified(index) if e.active
        ],
        "active_work": stored.get("active_work") or [],
        "blocked": [
            {"feature": e.slug, "reason": "; ".join(e.blockers)}
            for e in index.entries
            if e.blockers and not e.archived
        ],
        "milestones": [
            {"slug": m.slug, "title": m.title, "status": milestone_status(m, dict(phases))}
            for m in _milestones(store)
        ],
        "last_updated": stored.get("last_updated"),
    }
    return view, index.warnings


def query(store: Store, which: str) -> tuple[JsonList, list[str]]:
    """blocked | ready | needs-approval over every active feature."""
    index = load_index(store)

    def wanted(entry: IndexEntry) -> bool:
        action = entry.action or ""
        if which == "ready":
            return action in AGENT_ACTIONS
        if which == "needs-approval":
            return action.startswith("approve_")
        return action in BLOCKED_ACTIONS or entry.rule == "blocker_comment"

    rows = JsonList(e.classification_json for e in _classified(index) if wanted(e) and e.classification_json)
    return rows, index.warnings


def search(store: Store, text: str, limit: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Features whose slug, title or description contains `text` (case-insensitive)."""
    index = load_index(store, classify=False)
    needle = text.lower()
    rows = []
    for entry in index.entries:
        summary = entry.summary
        haystack = f"{entry.slug}\n{summary['title']}\n{summary.get('description') or ''}".lower()
        if needle in haystack:
            rows.append(summary)
            if len(rows) >= limit:
                break
    return rows, index.warnings


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
            haystack = f"{task.id}\n{task.title}\n{task.description or ''}".lower()
            if needle in haystack:
                rows.append(feature_row(name, task.to_dict()))
    return rows[:limit], warnings


def project_stats(store: Store) -> tuple[dict[str, Any], list[str]]:
    index = load_index(store)
    tasks = {"total": 0, "pending": 0, "in_progress": 0, "completed": 0, "blocked": 0}
    actions: dict[str, int] = {}
    open_comments = 0
    for entry in index.entries:
        summary = entry.summary
        for key in tasks:
            tasks[key] += summary["tasks"][key]
        open_comments += summary["open_comments"]
        if entry.action and not entry.archived:
            actions[entry.action] = actions.get(entry.action, 0) + 1
    stats = {
        "features": _feature_counts(index),
        "tasks": tasks,
        "actions": dict(sorted(actions.items())),
        "open_comments": open_comments,
    }
    return stats, index.warnings
