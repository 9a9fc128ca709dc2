"""Mutations: lock, re-read inside the lock, change, auto-advance, write (spec/sdlc.md §7).

Write order: manifests (atomic, fsync'd), then events.jsonl, then state.yaml, so that
state.yaml can always be rebuilt from the manifests."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

from sdlc import yamlio
from sdlc.errors import FeatureNotFound, LockTimeout, MilestoneNotFound
from sdlc.events import number_events, recent_events
from sdlc.feature_cache import manifest_key, manifest_record, write_record
from sdlc.journal import apply_journal, replay_journal, write_journal
from sdlc.milestones import Milestone
from sdlc.model import Feature, now
from sdlc.state import HISTORY_LIMIT, apply_changes, shape
from sdlc.store import Store
from sdlc.transitions import auto_advance

DEFAULT_LOCK_TIMEOUT = 10.0


def lock_timeout() -> float:
    try:
        return float(os.environ.get("SDLC_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


class Transaction:
    """`with Transaction(store, actor) as tx:` — holds `.sdlc/.lock` for its duration."""

    def __init__(self, store: Store, actor: str) -> None:
        self.store = store
        self.actor = actor
        self.at = now()
        self._features: dict[str, Feature] = {}
        self._changed: dict[str, Feature] = {}
        self._milestones: dict[str, Milestone] = {}
        self._changed_milestones: dict[str, Milestone] = {}
        self._shapes: dict[str, tuple[bool, tuple[str, ...]] | None] = {}  # as loaded
        self._events: list[dict[str, Any]] = []
        self._committed: dict[str, list[str]] | None = None
        self._logged = False  # events were appended: callbacks have something to deliver
        self._lock: Any = None

    def __enter__(self) -> Transaction:
        from filelock import FileLock, Timeout

        self.store.require_initialized()
        timeout = lock_timeout()
        self._lock = FileLock(str(self.store.paths.lock), timeout=timeout)
        try:
            self._lock.acquire()
        except Timeout:
            raise LockTimeout(
                f"could not lock .sdlc/.lock within {timeout:g} s: another sdlc command holds it",
                hint="retry, or raise SDLC_LOCK_TIMEOUT",
            ) from None
        try:
            replay_journal(self.store.paths)
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self.commit()
        finally:
            self._lock.release()
        if kind is None and self._logged:  # after the release: a callback never holds the lock
            from sdlc.callbacks import start_detached_flush

            start_detached_flush(self.store)

    # -- reads inside the lock --------------------------------------------------------

    def feature(self, slug: str) -> Feature:
        if slug not in self._features:
            self._features[slug] = self.store.load_feature(slug)
            self._shapes[slug] = shape(self._features[slug])
        return self._features[slug]

    def try_feature(self, slug: str) -> Feature | None:
        try:
            return self.feature(slug)
        except FeatureNotFound:
            return None

    def milestone(self, slug: str) -> Milestone:
        if slug not in self._milestones:
            self._milestones[slug] = self.store.load_milestone(slug)
        return self._milestones[slug]

    def milestone_exists(self, slug: str) -> bool:
        try:
            self.milestone(slug)
        except MilestoneNotFound:
            return False
        return True

    # -- changes ----------------------------------------------------------------------

    def save(self, feature: Feature) -> None:
        self._features[feature.slug] = feature
        self._changed[feature.slug] = feature

    def save_milestone(self, milestone: Milestone) -> None:
        milestone.updated_at = self.at
        self._milestones[milestone.slug] = milestone
        self._changed_milestones[milestone.slug] = milestone

    def event(self, kind: str, feature: str | None = None, **data: Any) -> None:
        event: dict[str, Any] = {"ts": self.at, "actor": self.actor}
        if feature is not None:
            event["feature"] = feature
        event["type"] = kind
        event["data"] = data
        self._events.append(event)

    # -- commit -----------------------------------------------------------------------

    def _dependency_states(self, feature: Feature) -> dict[str, tuple[str, bool] | None]:
        states = {}
        for slug in feature.dependencies:
            dep = self._features.get(slug)
            states[slug] = (dep.phase, dep.archived) if dep else None
        missing = [s for s in feature.dependencies if s not in self._features]
        if missing:
            probe = Feature(feature.slug, feature.title, dependencies=missing)
            states.update(self.store.dependency_states(probe))
        return states

    def _advance(self, feature: Feature) -> list[str]:
        config = self.store.config
        if not config.auto_advance or feature.archived:
            return []
        before = feature.phase
        hops = auto_advance(
            feature,
            config,
            self.store.file_hashes(feature),
            self._dependency_states(feature),
            self.at,
        )
        if hops:
            self.save(feature)
            self.event(
                "feature.transitioned",
                feature.slug,
                **{"from": before, "to": hops[-1]},
                hops=hops,
                auto=True,
            )
        return hops

    def _dependents_of(self, slugs: set[str]) -> list[str]:
        from sdlc.index import load_index

        index = load_index(self.store, classify=False)
        return [e.slug for e in index.entries if set(e.dependencies) & slugs]

    def commit(self) -> dict[str, list[str]]:
        """Auto-advance changed features, then write everything; returns hops per feature."""
        if self._committed is not None:
            return self._committed
        hops: dict[str, list[str]] = {}
        for feature in list(self._changed.values()):
            hops[feature.slug] = self._advance(feature)
        finished = {f.slug for f in self._changed.values() if f.archived or f.phase == "released"}
        if finished:
            for slug in self._dependents_of(finished):
                dependent = self.try_feature(slug)
                if dependent is not None:
                    moved = self._advance(dependent)
                    if moved:
                        hops[slug] = hops.get(slug, []) + moved
        self._write()
        self._committed = hops
        return hops

    def _write(self) -> None:
        """Journal every change, then apply it (see sdlc.journal)."""
        paths = self.store.paths
        milestones = list(self._changed_milestones.values())
        if not (self._changed or milestones or self._events):
            return
        files: dict[str, str] = {}
        for feature in self._changed.values():
            feature.revision += 1
            feature.updated_at = self.at
            files[paths.relative(paths.manifest(feature.slug))] = yamlio.dumps(feature.to_dict())
        for milestone in milestones:
            files[paths.relative(paths.milestone_manifest(milestone.slug))] = yamlio.dumps(
                milestone.to_dict()
            )
        events = number_events(paths.events, self._events)
        # state.yaml is rewritten only when what it summarises changed (or it is gone): at
        # 10,000 features it is large, and a task or comment change does not touch it.
        changed = list(self._changed.values())
        structural = bool(milestones) or any(shape(f) != self._shapes.get(f.slug) for f in changed)
        if structural or not paths.state.exists():
            state = self.store.read_state()
            if state is None:
                from sdlc.index import rebuild_state

                state = rebuild_state(self.store)
            latest = recent_events(paths.events, HISTORY_LIMIT) + events
            state = apply_changes(state, changed, milestones, latest[-HISTORY_LIMIT:], self.at)
            files[paths.relative(paths.state)] = yamlio.dumps(state)
        write_journal(paths, files, events)
        apply_journal(paths, files, events)
        self._logged = bool(events)
        for feature in changed:  # the next reader finds a warm record (we still hold the lock)
            record = manifest_record(manifest_key(paths, feature.slug), feature.to_dict())
            if record is not None:
                write_record(paths, feature.slug, record)
