"""state.yaml: the derived project summary, kept in the reference's shape (spec/sdlc.md §2)."""

from __future__ import annotations

from typing import Any

from sdlc.milestones import Milestone
from sdlc.model import Feature

HISTORY_LIMIT = 200


def is_active(feature: Feature) -> bool:
    return not feature.archived and feature.phase != "released"


def history_entry(event: dict[str, Any], phase: str | None) -> dict[str, Any]:
    return {
        "feature": event.get("feature"),
        "action": event["type"],
        "phase": phase,
        "timestamp": event["ts"],
        "outcome": "ok",
    }


def empty_state(project: str) -> dict[str, Any]:
    return {
        "version": 1,
        "project": project,
        "active_features": [],
        "active_work": [],
        "history": [],
        "blocked": [],
        "milestones": [],
        "last_updated": None,
    }


def shape(feature: Feature | None) -> tuple[bool, tuple[str, ...]] | None:
    """What state.yaml records of a feature: whether it is active, and its blockers."""
    if feature is None:
        return None
    return is_active(feature), () if feature.archived else tuple(feature.blockers)


def apply_changes(
    state: dict[str, Any],
    features: list[Feature],
    milestones: list[Milestone],
    events: list[dict[str, Any]],
    at: str,
) -> dict[str, Any]:
    """Fold changed features and milestones into `state`; `events` are the latest events of
    the log (the new ones included), of which the last HISTORY_LIMIT become `history`."""
    active: list[str] = list(state.get("active_features") or [])
    blocked = [b for b in state.get("blocked") or [] if isinstance(b, dict)]
    phases = {f.slug: f.phase for f in features}
    for feature in features:
        if is_active(feature):
            if feature.slug not in active:
                active.append(feature.slug)
        elif feature.slug in active:
            active.remove(feature.slug)
        blocked = [b for b in blocked if b.get("feature") != feature.slug]
        if feature.blockers and not feature.archived:
            blocked.append({"feature": feature.slug, "reason": "; ".join(feature.blockers), "since": at})
    names = list(state.get("milestones") or [])
    names.extend(m.slug for m in milestones if m.slug not in names)
    history = [history_entry(e, phases.get(e.get("feature") or "")) for e in events]
    state.update(
        active_features=active,
        blocked=blocked,
        milestones=names,
        history=history[-HISTORY_LIMIT:],
        last_updated=at,
    )
    state.setdefault("active_work", [])
    return state
