"""`sdlc doctor [--fix]`: every problem with its path (spec/sdlc.md §5, §7)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from sdlc import yamlio
from sdlc.atomic import write_atomic
from sdlc.errors import ConfigInvalid, CorruptFile, SdlcError
from sdlc.events import read_events
from sdlc.model import Feature
from sdlc.store import Store


def _problem(path: str, message: str, fixable: bool = False) -> dict[str, Any]:
    return {"path": path, "message": message, "fixable": fixable}


def _feature_problems(store: Store, feature: Feature, known: set[str]) -> list[dict[str, Any]]:
    rel = store.paths.relative(store.paths.manifest(feature.slug))
    problems = []
    for dep in feature.dependencies:
        if dep not in known:
            problems.append(_problem(rel, f"dependency '{dep}' names no feature"))
    ids = {t.id for t in feature.tasks}
    for task in feature.tasks:
        for dep in task.depends_on:
            if dep not in ids:
                problems.append(_problem(rel, f"task {task.id} depends on {dep}, which does not exist"))
    files = store.file_hashes(feature)
    for art in feature.artifacts:
        if art.status not in ("missing", "waived") and files[art.artifact_type] is None:
            problems.append(
                _problem(rel, f"artifact '{art.artifact_type}' is {art.status} but its file is missing")
            )
    return problems


def diagnose(store: Store) -> list[dict[str, Any]]:
    store.require_initialized()
    problems: list[dict[str, Any]] = []
    try:
        _ = store.config
    except ConfigInvalid as err:
        problems.append(_problem(".sdlc/config.yaml", err.message))
    slugs = store.feature_slugs()
    known = set(slugs)
    features = []
    for slug in slugs:
        try:
            features.append(store.load_feature(slug))
        except SdlcError as err:
            problems.append(_problem(store.paths.relative(store.paths.manifest(slug)), err.message))
    for feature in features:
        problems.extend(_feature_problems(store, feature, known))
    for slug in store.milestone_slugs():
        rel = store.paths.relative(store.paths.milestone_manifest(slug))
        try:
            milestone = store.load_milestone(slug)
        except CorruptFile as err:
            problems.append(_problem(rel, err.message))
            continue
        for member in milestone.features:
            if member not in known:
                problems.append(_problem(rel, f"member feature '{member}' does not exist"))
    problems.extend(_state_problems(store, features))
    if store.paths.journal.exists():
        problems.append(_problem(".sdlc/.journal", "an interrupted write is pending", fixable=True))
    for temp in _leftover_temp_files(store):
        problems.append(
            _problem(store.paths.relative(temp), "temp file left by an interrupted write", fixable=True)
        )
    events, bad = read_events(store.paths.events)
    if bad:
        problems.append(_problem(".sdlc/events.jsonl", f"{bad} line(s) do not parse"))
    ids = [e["id"] for e in events]
    if any(b <= a for a, b in pairwise(ids)):
        problems.append(_problem(".sdlc/events.jsonl", "event ids do not increase"))
    return problems


def _leftover_temp_files(store: Store) -> list[Path]:
    """Temp files of atomic writes killed before their rename. Removing one that a running
    reader is about to rename into .cache/ only makes it skip caching."""
    return sorted(store.paths.sdlc.rglob(".*.tmp"))


def _state_problems(store: Store, features: list[Feature]) -> list[dict[str, Any]]:
    state = store.read_state()
    if state is None:
        return [_problem(".sdlc/state.yaml", "missing or does not parse", fixable=True)]
    expected = {f.slug for f in features if not f.archived and f.phase != "released"}
    listed = set(state.get("active_features") or [])
    if listed != expected:
        return [_problem(".sdlc/state.yaml", "active_features out of date with the manifests", fixable=True)]
    return []


def doctor(store: Store, fix: bool, actor: str = "doctor") -> dict[str, Any]:
    problems = diagnose(store)
    fixed = []
    if fix and any(p["fixable"] for p in problems):
        from sdlc.index import rebuild_state
        from sdlc.transaction import Transaction

        with Transaction(store, actor):  # entering replays a pending journal
            write_atomic(store.paths.state, yamlio.dumps(rebuild_state(store)).encode())
            for temp in _leftover_temp_files(store):  # no writer runs while we hold the lock
                temp.unlink(missing_ok=True)
        fixed = [p for p in problems if p["fixable"]]
        problems = diagnose(store)
    return {"ok": not problems, "problems": problems, "fixed": fixed}
