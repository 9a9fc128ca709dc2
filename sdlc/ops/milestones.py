"""Milestone use cases (spec/sdlc.md §2 "Comments, features, milestones", §5)."""

from __future__ import annotations

from typing import Any

from sdlc.errors import CorruptFile, FeatureNotFound, InvalidTransition, MilestoneExists, UsageError
from sdlc.milestones import Milestone, milestone_status
from sdlc.names import check_names
from sdlc.store import Store
from sdlc.transaction import Transaction


def _member_states(store: Store, milestone: Milestone) -> dict[str, tuple[str, bool] | None]:
    states: dict[str, tuple[str, bool] | None] = {}
    for slug in milestone.features:
        try:
            feature = store.load_feature(slug)
        except (FeatureNotFound, CorruptFile):
            states[slug] = None
        else:
            states[slug] = (feature.phase, feature.archived)
    return states


def describe(store: Store, milestone: Milestone) -> dict[str, Any]:
    states = _member_states(store, milestone)
    return {
        "slug": milestone.slug,
        "title": milestone.title,
        "description": milestone.description,
        "vision": milestone.vision,
        "status": milestone_status(milestone, states),
        "features": milestone.features,
        "created_at": milestone.created_at,
        "updated_at": milestone.updated_at,
        "released_at": milestone.released_at,
        "skipped_at": milestone.skipped_at,
    }


def _require_features(tx: Transaction, slugs: list[str]) -> None:
    for slug in slugs:
        tx.feature(slug)


def create_milestone(
    store: Store, actor: str, slug: str, title: str, features: list[str] | None = None
) -> dict[str, Any]:
    check_names([slug, *(features or [])])
    with Transaction(store, actor) as tx:
        if tx.milestone_exists(slug):
            raise MilestoneExists(f"milestone '{slug}' already exists", hint=f"sdlc milestone info {slug}")
        members = list(dict.fromkeys(features or []))
        _require_features(tx, members)
        milestone = Milestone(slug, title, features=members, created_at=tx.at)
        tx.save_milestone(milestone)
        tx.event("milestone.created", None, milestone=slug, features=members)
    return describe(store, milestone)


def add_feature(
    store: Store, actor: str, slug: str, feature: str, position: int | None = None
) -> dict[str, Any]:
    check_names([slug, feature])
    with Transaction(store, actor) as tx:
        milestone = tx.milestone(slug)
        _require_features(tx, [feature])
        if feature in milestone.features:
            milestone.features.remove(feature)
        index = (
            len(milestone.features)
            if position is None
            else max(0, min(position - 1, len(milestone.features)))
        )
        milestone.features.insert(index, feature)
        tx.save_milestone(milestone)
        tx.event("milestone.feature_added", feature, milestone=slug, position=index + 1)
    return describe(store, milestone)


def remove_feature(store: Store, actor: str, slug: str, feature: str) -> dict[str, Any]:
    check_names([slug, feature])
    with Transaction(store, actor) as tx:
        milestone = tx.milestone(slug)
        if feature not in milestone.features:
            raise FeatureNotFound(
                f"feature '{feature}' is not in milestone '{slug}'", hint=f"see `sdlc milestone info {slug}`"
            )
        milestone.features.remove(feature)
        tx.save_milestone(milestone)
        tx.event("milestone.feature_removed", feature, milestone=slug)
    return describe(store, milestone)


def reorder(store: Store, actor: str, slug: str, order: list[str]) -> dict[str, Any]:
    check_names([slug, *order])
    with Transaction(store, actor) as tx:
        milestone = tx.milestone(slug)
        if sorted(order) != sorted(milestone.features) or len(set(order)) != len(order):
            raise UsageError(
                f"invalid value: reorder must list exactly the features of '{slug}'",
                hint="members: " + " ".join(milestone.features),
            )
        milestone.features = list(order)
        tx.save_milestone(milestone)
        tx.event("milestone.reordered", None, milestone=slug, features=order)
    return describe(store, milestone)


def update(
    store: Store,
    actor: str,
    slug: str,
    title: str | None,
    vision: str | None,
    description: str | None,
) -> dict[str, Any]:
    if title is None and vision is None and description is None:
        raise UsageError(
            "missing required argument: nothing to update",
            hint="give --title, --vision or --description",
        )
    check_names([slug])
    with Transaction(store, actor) as tx:
        milestone = tx.milestone(slug)
        changes = {
            k: v
            for k, v in (("title", title), ("vision", vision), ("description", description))
            if v is not None
        }
        for key, value in changes.items():
            setattr(milestone, key, value)
        tx.save_milestone(milestone)
        tx.event("milestone.updated", None, milestone=slug, **changes)
    return describe(store, milestone)


def release(store: Store, actor: str, slug: str, force: bool = False) -> dict[str, Any]:
    check_names([slug])
    with Transaction(store, actor) as tx:
        milestone = tx.milestone(slug)
        if milestone.skipped_at:
            raise InvalidTransition(
                f"milestone '{slug}' was skipped", hint="a skipped milestone cannot be released"
            )
        if not milestone.released_at:
            states = _member_states(store, milestone)
            unreleased = [s for s, st in states.items() if st is None or not (st[0] == "released" or st[1])]
            if unreleased and not force:
                raise InvalidTransition(
                    f"cannot release milestone '{slug}': unreleased features: {', '.join(unreleased)}",
                    hint="release them first, or pass --force",
                )
            milestone.released_at = tx.at
            tx.save_milestone(milestone)
            tx.event("milestone.released", None, milestone=slug, forced=bool(unreleased))
    return describe(store, milestone)


def skip(store: Store, actor: str, slug: str) -> dict[str, Any]:
    check_names([slug])
    with Transaction(store, actor) as tx:
        milestone = tx.milestone(slug)
        if milestone.released_at:
            raise InvalidTransition(
                f"milestone '{slug}' is already released", hint="a released milestone cannot be skipped"
            )
        if not milestone.skipped_at:
            milestone.skipped_at = tx.at
            tx.save_milestone(milestone)
            tx.event("milestone.skipped", None, milestone=slug)
    return describe(store, milestone)


def list_milestones(store: Store) -> tuple[list[dict[str, Any]], list[str]]:
    """Every milestone in creation order, and a warning per corrupt manifest."""
    store.require_initialized()
    rows, warnings = [], []
    for slug in store.milestone_slugs():
        try:
            rows.append(describe(store, store.load_milestone(slug)))
        except CorruptFile as err:
            warnings.append(err.message)
    rows.sort(key=lambda m: (m["created_at"], m["slug"]))
    return rows, warnings


def info(store: Store, slug: str) -> dict[str, Any]:
    return describe(store, store.load_milestone(slug))
