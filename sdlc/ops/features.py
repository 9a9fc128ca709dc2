"""Feature use cases: create, update, transition, archive, block, merge."""

from __future__ import annotations

from typing import Any

from sdlc.criteria import exit_criteria
from sdlc.errors import (
    DependencyCycle,
    FeatureExists,
    FeatureNotFound,
    InvalidTransition,
    UsageError,
)
from sdlc.model import Feature
from sdlc.names import check_names, default_title
from sdlc.store import Store
from sdlc.transaction import Transaction
from sdlc.transitions import check_target, enter_phase, guard_transition


def _result(feature: Feature, hops: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    return {
        "feature": feature.slug,
        "phase": feature.phase,
        **extra,
        "transitioned": hops.get(feature.slug, []),
    }


def _check_dependencies(tx: Transaction, slug: str, dependencies: list[str]) -> None:
    """Every dependency exists, and none leads back to `slug`."""
    for dep in dependencies:
        if dep == slug:
            raise DependencyCycle(f"dependency cycle detected: '{slug}' → '{slug}'")
        if tx.try_feature(dep) is None:
            raise FeatureNotFound(
                f"dependency '{dep}' not found", hint="create it first with `sdlc feature create`"
            )
    for dep in dependencies:
        path = _path_to(tx, dep, slug, [slug, dep])
        if path:
            raise DependencyCycle("dependency cycle detected: " + " → ".join(f"'{s}'" for s in path))


def _path_to(tx: Transaction, start: str, goal: str, trail: list[str]) -> list[str] | None:
    feature = tx.try_feature(start)
    for dep in feature.dependencies if feature else []:
        if dep == goal:
            return [*trail, goal]
        if dep not in trail:
            found = _path_to(tx, dep, goal, [*trail, dep])
            if found:
                return found
    return None


def create_feature(
    store: Store,
    actor: str,
    slug: str,
    title: str | None = None,
    description: str | None = None,
    depends_on: list[str] | None = None,
) -> dict[str, Any]:
    check_names([slug, *(depends_on or [])])
    store.require_initialized()
    with Transaction(store, actor) as tx:
        if store.feature_exists(slug):
            raise FeatureExists(f"feature '{slug}' already exists", hint=f"see `sdlc feature show {slug}`")
        dependencies = list(dict.fromkeys(depends_on or []))
        _check_dependencies(tx, slug, dependencies)
        feature = Feature.new(slug, title or default_title(slug), description, tx.at)
        feature.dependencies = dependencies
        tx.save(feature)
        tx.event("feature.created", slug, title=feature.title, dependencies=dependencies)
        hops = tx.commit()
    return _result(feature, hops, title=feature.title)


def update_feature(
    store: Store,
    actor: str,
    slug: str,
    title: str | None = None,
    description: str | None = None,
    depends_on: list[str] | None = None,
    clear_depends_on: bool = False,
) -> dict[str, Any]:
    check_names([slug, *(depends_on or [])])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        changes: dict[str, Any] = {}
        if title is not None:
            feature.title = changes["title"] = title
        if description is not None:
            feature.description = changes["description"] = description or None
        if clear_depends_on or depends_on:
            wanted = [] if clear_depends_on else list(feature.dependencies)
            wanted += [d for d in depends_on or [] if d not in wanted]
            _check_dependencies(tx, slug, [d for d in wanted if d not in feature.dependencies])
            feature.dependencies = changes["dependencies"] = wanted
        if not changes:
            raise UsageError(
                "missing required argument: nothing to update",
                hint="give --title, --description, --depends-on or --clear-depends-on",
            )
        tx.save(feature)
        tx.event("feature.updated", slug, **changes)
        hops = tx.commit()
    return _result(feature, hops, changes=changes)


def transition_feature(
    store: Store, actor: str, slug: str, target: str, force: bool = False, reason: str | None = None
) -> dict[str, Any]:
    if force and not reason:
        raise UsageError("missing required argument: --force needs --reason", hint='add --reason "why"')
    check_names([slug])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        check_target(feature, target, store.config)
        if target == feature.phase:
            return _result(feature, {}, changed=False)
        if not force:
            guard_transition(
                feature,
                target,
                store.config,
                store.file_hashes(feature),
                store.dependency_states(feature),
            )
        before = feature.phase
        enter_phase(feature, target, tx.at)
        tx.save(feature)
        data: dict[str, Any] = {"from": before, "to": target}
        if force:
            data.update(forced=True, reason=reason)
        tx.event("feature.transitioned", slug, **data)
        hops = tx.commit()
    hops[slug] = [target, *hops.get(slug, [])]
    return _result(feature, hops, changed=True)


def set_archived(store: Store, actor: str, slug: str, archived: bool) -> dict[str, Any]:
    check_names([slug])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        if feature.archived != archived:
            feature.archived = archived
            tx.save(feature)
            tx.event("feature.archived" if archived else "feature.unarchived", slug)
        hops = tx.commit()
    return _result(feature, hops, archived=archived)


def block_feature(store: Store, actor: str, slug: str, reason: str) -> dict[str, Any]:
    check_names([slug])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        feature.blockers.append(reason)
        tx.save(feature)
        tx.event("feature.blocked", slug, reason=reason)
        hops = tx.commit()
    return _result(feature, hops, blockers=feature.blockers)


def unblock_feature(store: Store, actor: str, slug: str, everything: bool = False) -> dict[str, Any]:
    check_names([slug])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        removed = feature.blockers if everything else feature.blockers[-1:]
        if removed:
            feature.blockers = [] if everything else feature.blockers[:-1]
            tx.save(feature)
            tx.event("feature.unblocked", slug, removed=removed)
        hops = tx.commit()
    return _result(feature, hops, removed=removed, blockers=feature.blockers)


def merge_feature(store: Store, actor: str, slug: str) -> dict[str, Any]:
    """Record the merge: only in merge, only when merge's exit criteria hold."""
    check_names([slug])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        if feature.archived:
            raise InvalidTransition(f"feature '{slug}' is archived", hint=f"sdlc feature unarchive {slug}")
        if feature.phase != "merge":
            raise InvalidTransition(
                f"cannot merge '{slug}': it is in {feature.phase}, not merge",
                hint=f"see `sdlc next --for {slug}`",
            )
        unmet = exit_criteria(
            feature, store.config, store.file_hashes(feature), store.dependency_states(feature)
        )
        if unmet:
            raise InvalidTransition(
                f"cannot merge '{slug}': exit criteria of merge not met: {unmet[0].message}",
                hint=f"see `sdlc next --for {slug} --explain`",
            )
        enter_phase(feature, "released", tx.at)
        tx.save(feature)
        tx.event("feature.transitioned", slug, **{"from": "merge", "to": "released"})
        tx.event("feature.released", slug)
        hops = tx.commit()
    hops[slug] = ["released", *hops.get(slug, [])]
    return _result(feature, hops)
