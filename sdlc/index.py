"""The all-feature view behind listings, kept fast by a cache (spec/sdlc.md §11).

`.sdlc/.cache/index.json` holds, per feature, a summary and its classification, keyed on
the stat of the feature directory and manifest and of every artifact whose approval hash
matters (re-hashed only when its stat changed). The cache is never trusted over the files:
an entry is reused only when every key still matches, and rebuilt otherwise. It is written
atomically (unique temp file + rename), so concurrent rebuilders are safe."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from sdlc._version import __version__
from sdlc.atomic import write_atomic
from sdlc.classifier import classify
from sdlc.errors import CorruptFile, FeatureNotFound
from sdlc.events import recent_events
from sdlc.lifecycle import ARTIFACT_FILES
from sdlc.model import Feature, now
from sdlc.state import HISTORY_LIMIT, empty_state, history_entry, is_active
from sdlc.store import MANIFEST, Store, needs_hash, sha256_file

CACHE_FORMAT = 1


def feature_summary(feature: Feature) -> dict[str, Any]:
    """The listing shape of one feature (`feature list --json`)."""
    counts = {
        "total": len(feature.tasks),
        "pending": 0,
        "in_progress": 0,
        "completed": 0,
        "blocked": 0,
    }
    for task in feature.tasks:
        counts[task.status] += 1
    summary: dict[str, Any] = {"slug": feature.slug, "title": feature.title}
    if feature.description:
        summary["description"] = feature.description
    summary.update(
        phase=feature.phase,
        archived=feature.archived,
        created_at=feature.created_at,
        updated_at=feature.updated_at,
        dependencies=feature.dependencies,
        blockers=feature.blockers,
        tasks=counts,
        open_comments=sum(1 for c in feature.comments if c.stops_pipeline),
    )
    return summary


@dataclass
class IndexEntry:
    slug: str
    summary: dict[str, Any]
    classification: dict[str, Any] | None = None


@dataclass
class Index:
    entries: list[IndexEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def by_slug(self) -> dict[str, IndexEntry]:
        return {e.slug: e for e in self.entries}


def _stat_key(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return [st.st_mtime_ns, st.st_size]


class _Builder:
    def __init__(self, store: Store, classify_all: bool) -> None:
        self.store = store
        self.classify_all = classify_all
        self.cache_path = store.paths.cache / "index.json"
        self.old = self._read_cache()
        self.dirty = False
        self.parsed: dict[str, Feature] = {}

    def _read_cache(self) -> dict[str, Any]:
        try:
            with open(self.cache_path, "rb") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}
        ok = isinstance(data, dict) and data.get("format") == CACHE_FORMAT
        return data if ok and data.get("sdlc") == __version__ else {}

    def _parse(self, slug: str) -> Feature:
        feature = self.parsed.get(slug)
        if feature is None:
            feature = self.parsed[slug] = self.store.load_feature(slug)
        return feature

    def _hashes(self, slug: str, feature: Feature, old_art: dict[str, Any]) -> dict[str, Any]:
        art = {}
        directory = self.store.paths.features / slug
        for kind, name in ARTIFACT_FILES.items():
            if not needs_hash(feature, kind):
                continue
            path = str(directory / name)
            key = _stat_key(path)
            previous = old_art.get(kind)
            if key is not None and previous and previous[:2] == key:
                art[kind] = previous
            else:
                art[kind] = [*(key or [0, -1]), sha256_file(directory / name) if key else None]
        return art

    def _file_hashes(self, slug: str, feature: Feature, art: dict[str, Any]) -> dict[str, str | None]:
        directory = self.store.paths.features / slug
        files: dict[str, str | None] = {}
        for kind, name in ARTIFACT_FILES.items():
            if kind in art:
                files[kind] = art[kind][2]
            else:
                files[kind] = "" if os.path.isfile(directory / name) else None
        return files

    def refresh(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        old_features: dict[str, Any] = self.old.get("features", {})
        features_dir = str(self.store.paths.features)
        try:
            names = [e.name for e in os.scandir(features_dir) if e.is_dir()]
        except FileNotFoundError:
            names = []
        fresh: dict[str, dict[str, Any]] = {}
        warnings = []
        for slug in names:
            directory = os.path.join(features_dir, slug)
            manifest_key = _stat_key(os.path.join(directory, MANIFEST))
            if manifest_key is None or not _is_slug(slug):
                continue
            dir_key = _stat_key(directory) or [0, 0]
            key = [dir_key[0], *manifest_key]
            entry = old_features.get(slug)
            if (
                entry
                and entry["key"] == key
                and all(
                    _stat_key(os.path.join(directory, ARTIFACT_FILES[k])) == v[:2]
                    for k, v in entry["art"].items()
                )
            ):
                fresh[slug] = entry
            else:
                fresh[slug] = self._build_entry(slug, key, entry)
            if fresh[slug].get("error"):
                warnings.append(fresh[slug]["error"])
        if set(fresh) != set(old_features):
            self.dirty = True
        return fresh, warnings

    def _build_entry(self, slug: str, key: list[int], old: dict[str, Any] | None) -> dict[str, Any]:
        self.dirty = True
        try:
            feature = self._parse(slug)
        except (CorruptFile, FeatureNotFound) as err:  # FeatureNotFound: deleted meanwhile
            return {"key": key, "art": {}, "error": err.message}
        art = self._hashes(slug, feature, (old or {}).get("art", {}))
        return {
            "key": key,
            "art": art,
            "summary": feature_summary(feature),
            "cls": None,
            "deps": None,
        }

    def classify_entries(self, fresh: dict[str, dict[str, Any]]) -> None:
        config_key = [*self.store.config_signature()]
        if self.old.get("config") != config_key:
            for entry in fresh.values():
                entry["cls"] = None
            self.dirty = True
        states = {
            slug: [e["summary"]["phase"], e["summary"]["archived"]]
            for slug, e in fresh.items()
            if "summary" in e
        }
        config = self.store.config
        for slug, entry in fresh.items():
            if "summary" not in entry:
                continue
            deps = {d: states.get(d) for d in entry["summary"]["dependencies"]}
            if entry["cls"] is not None and entry["deps"] == deps:
                continue
            feature = self._parse(slug)
            files = self._file_hashes(slug, feature, entry["art"])
            dep_states = {d: (s[0], s[1]) if s else None for d, s in deps.items()}
            entry["cls"] = classify(feature, config, files, dep_states).to_dict()
            entry["deps"] = deps
            self.dirty = True
        self.config_key = config_key

    def save(self, fresh: dict[str, dict[str, Any]]) -> None:
        if not self.dirty:
            return
        data = {
            "format": CACHE_FORMAT,
            "sdlc": __version__,
            "config": getattr(self, "config_key", self.old.get("config")),
            "features": fresh,
        }
        # A read-only checkout still lists: the cache is only an accelerator.
        with contextlib.suppress(OSError):
            write_atomic(self.cache_path, json.dumps(data, separators=(",", ":")).encode(), durable=False)


def _is_slug(name: str) -> bool:
    from sdlc.names import is_slug

    return is_slug(name)


def load_index(store: Store, classify: bool = True) -> Index:
    """Every feature's summary (and classification when `classify`), in creation order;
    corrupt manifests become warnings."""
    store.require_initialized()
    builder = _Builder(store, classify)
    fresh, warnings = builder.refresh()
    if classify:
        builder.classify_entries(fresh)
    builder.save(fresh)
    entries = [
        IndexEntry(slug, e["summary"], e.get("cls") if classify else None)
        for slug, e in fresh.items()
        if "summary" in e
    ]
    entries.sort(key=lambda e: (e.summary["created_at"], e.slug))
    return Index(entries, sorted(warnings))


def rebuild_state(store: Store) -> dict[str, Any]:
    """state.yaml from the manifests (and the last events for `history`)."""
    index = load_index(store, classify=False)
    state = empty_state(store.config.project_name)
    phases = {e.slug: e.summary["phase"] for e in index.entries}
    state["active_features"] = [
        e.slug for e in index.entries if not e.summary["archived"] and e.summary["phase"] != "released"
    ]
    state["blocked"] = [
        {
            "feature": e.slug,
            "reason": "; ".join(e.summary["blockers"]),
            "since": e.summary["updated_at"],
        }
        for e in index.entries
        if e.summary["blockers"] and not e.summary["archived"]
    ]
    milestones = []
    for slug in store.milestone_slugs():
        try:
            milestones.append(store.load_milestone(slug))
        except CorruptFile:
            continue
    state["milestones"] = [m.slug for m in sorted(milestones, key=lambda m: (m.created_at, m.slug))]
    state["history"] = [
        history_entry(e, phases.get(e.get("feature") or ""))
        for e in recent_events(store.paths.events, HISTORY_LIMIT)
    ]
    previous = store.read_state() or {}
    state["active_work"] = previous.get("active_work") or []
    state["last_updated"] = now()
    return state


__all__ = ["Index", "IndexEntry", "feature_summary", "is_active", "load_index", "rebuild_state"]
