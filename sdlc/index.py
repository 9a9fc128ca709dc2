"""The all-feature view behind listings, kept fast by a cache (spec/sdlc.md §11).

`.sdlc/.cache/index.bin` (marshal) holds, per feature, its summary and classification as
ready-made JSON plus the few fields listings filter on. An entry is keyed on the stat of the
manifest and of every artifact file whose presence or content matters to the classifier
(approved files are re-hashed only when their stat changed), on the config file and on the
phases of the feature's dependencies. The cache is never trusted over the files: an entry is
reused only when every key still matches. It is written atomically (unique temp file +
rename), so concurrent rebuilders are safe."""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdlc._version import __version__
from sdlc.atomic import write_atomic
from sdlc.errors import CorruptFile, FeatureNotFound
from sdlc.lifecycle import ARTIFACT_FILES
from sdlc.names import is_slug
from sdlc.statcache import stat_key
from sdlc.store import MANIFEST, Store, needs_hash, sha256_file

if TYPE_CHECKING:
    from sdlc.model import Feature

# marshal's format belongs to the interpreter: a cache from another sdlc or Python is rebuilt
CACHE_FORMAT = f"{__version__}/py{sys.version_info[0]}.{sys.version_info[1]}/2"
# statuses whose artifact file does not matter to the classifier (missing stays missing)
_FILE_IRRELEVANT = frozenset({"missing", "waived"})


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def feature_summary(feature: Feature) -> dict[str, Any]:
    """The listing shape of one feature (`feature list --json`)."""
    counts = {"total": len(feature.tasks), "pending": 0, "in_progress": 0, "completed": 0, "blocked": 0}
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


@dataclass(eq=False, repr=False)
class IndexEntry:
    """One feature as listings see it; `summary_json`/`classification_json` are ready to print."""

    slug: str
    phase: str
    archived: bool
    created_at: str
    updated_at: str
    dependencies: list[str]
    blockers: list[str]
    summary_json: str
    classification_json: str | None = None
    action: str | None = None
    rule: str | None = None

    @property
    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.summary_json)
        return data

    @property
    def classification(self) -> dict[str, Any] | None:
        return json.loads(self.classification_json) if self.classification_json else None

    @property
    def active(self) -> bool:
        return not self.archived and self.phase != "released"


@dataclass(eq=False, repr=False)
class Index:
    entries: list[IndexEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def watched_files(
    store: Store, feature: Feature, old: dict[str, Any]
) -> tuple[dict[str, list[int] | None], dict[str, str | None]]:
    """The stat of each artifact file the classifier looks at, and the SHA-256 of those whose
    approval hash it checks (taken from `old` while their stat is unchanged)."""
    watch: dict[str, list[int] | None] = {}
    hashes: dict[str, str | None] = {}
    old_watch, old_hashes = old.get("watch", {}), old.get("hashes", {})
    features_dir = str(store.paths.features)
    for art in feature.artifacts:
        if art.status in _FILE_IRRELEVANT:
            continue
        kind = art.artifact_type
        path = f"{features_dir}/{feature.slug}/{ARTIFACT_FILES[kind]}"
        watch[kind] = stat = stat_key(path)
        if needs_hash(feature, kind):
            unchanged = stat is not None and old_watch.get(kind) == stat and kind in old_hashes
            hashes[kind] = old_hashes[kind] if unchanged else (sha256_file(Path(path)) if stat else None)
    return watch, hashes


def watched_unchanged(features_dir: str, slug: str, watch: dict[str, list[int] | None]) -> bool:
    directory = f"{features_dir}/{slug}/"
    return all(stat_key(directory + ARTIFACT_FILES[k]) == seen for k, seen in watch.items())


def classifier_files(watch: dict[str, Any], hashes: dict[str, str | None]) -> dict[str, str | None]:
    """The classifier's view of the artifact files (see sdlc.criteria.FileHashes)."""
    files: dict[str, str | None] = {}
    for kind in ARTIFACT_FILES:
        if kind in hashes:
            files[kind] = hashes[kind]
        elif kind in watch:
            files[kind] = "" if watch[kind] is not None else None
        else:
            files[kind] = None  # missing or waived: the file does not matter
    return files


class _Builder:
    """Brings the cache up to date one feature at a time. A feature's dependencies are
    brought up to date first, so each manifest is parsed once and then dropped."""

    def __init__(self, store: Store, with_classes: bool) -> None:
        self.store = store
        self.with_classes = with_classes
        self.features_dir = str(store.paths.features)
        self.cache_path = store.paths.cache / "index.bin"
        old = self._read_cache()
        self.old_features: dict[str, Any] = old.get("features", {})
        self.config_key = store.config_signature()
        self.saved_config_key = old.get("config")
        self.config_changed = self.saved_config_key != self.config_key
        self.fresh: dict[str, dict[str, Any]] = {}
        self.dirty = False
        try:
            self.names = {e.name for e in os.scandir(self.features_dir) if e.is_dir() and is_slug(e.name)}
        except FileNotFoundError:
            self.names = set()

    def _read_cache(self) -> dict[str, Any]:
        try:
            data = marshal.loads(self.cache_path.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return {}
        return data if isinstance(data, dict) and data.get("format") == CACHE_FORMAT else {}

    def _unchanged(self, slug: str, old: dict[str, Any] | None, key: list[int]) -> bool:
        return (
            old is not None and old["key"] == key and watched_unchanged(self.features_dir, slug, old["watch"])
        )

    def entry(self, slug: str) -> dict[str, Any] | None:
        """The up-to-date entry of `slug`, or None when it has no manifest."""
        known: dict[str, Any] | None = self.fresh.get(slug)
        if known is not None:
            return known
        if slug not in self.names:
            return None
        key = stat_key(f"{self.features_dir}/{slug}/{MANIFEST}")
        if key is None:
            return None
        old: dict[str, Any] | None = self.old_features.get(slug)
        feature = None
        entry: dict[str, Any]
        if old is not None and self._unchanged(slug, old, key):
            entry = old
        else:
            entry, feature = self._build(slug, key, old)
        self.fresh[slug] = entry  # visible to dependents (and to hand-made cycles) from here on
        if self.with_classes and "summary" in entry:
            self._classify(slug, entry, feature)
        return entry

    def _build(
        self, slug: str, key: list[int], old: dict[str, Any] | None
    ) -> tuple[dict[str, Any], Feature | None]:
        self.dirty = True
        try:
            feature = self.store.load_feature(slug)
        except (CorruptFile, FeatureNotFound) as err:  # FeatureNotFound: deleted meanwhile
            return {"key": key, "watch": {}, "error": err.message}, None
        summary = feature_summary(feature)
        watch, hashes = watched_files(self.store, feature, old or {})
        entry = {
            "key": key,
            "watch": watch,
            "hashes": hashes,
            "summary": _json(summary),
            "fields": [feature.phase, feature.archived, feature.created_at, feature.updated_at],
            "dependencies": feature.dependencies,
            "blockers": feature.blockers,
            "cls": None,
            "deps": None,
        }
        return entry, feature

    def _classify(self, slug: str, entry: dict[str, Any], feature: Feature | None) -> None:
        deps = {}
        for dep in entry["dependencies"]:
            found = self.entry(dep)
            deps[dep] = found["fields"][:2] if found and "fields" in found else None
        if entry["cls"] is not None and entry["deps"] == deps and not self.config_changed:
            return

        from sdlc.classifier import classify

        feature = feature or self.store.load_feature(slug)
        files = classifier_files(entry["watch"], entry["hashes"])
        states = {d: (s[0], s[1]) if s else None for d, s in deps.items()}
        result = classify(feature, self.store.config, files, states)
        entry["cls"] = _json(result.to_dict())
        entry["action"], entry["rule"] = result.action, result.rule
        entry["deps"] = deps
        self.dirty = True

    def build(self) -> dict[str, dict[str, Any]]:
        for slug in sorted(self.names):
            self.entry(slug)
        if set(self.fresh) != set(self.old_features):
            self.dirty = True
        return self.fresh

    def save(self) -> None:
        if not self.dirty and not (self.with_classes and self.config_changed):
            return
        data = {
            "format": CACHE_FORMAT,
            # classifications are current for this config only once every one was checked
            "config": self.config_key if self.with_classes else self.saved_config_key,
            "features": self.fresh,
        }
        # A read-only checkout still lists: the cache is only an accelerator.
        with contextlib.suppress(OSError, ValueError):
            write_atomic(self.cache_path, marshal.dumps(data), durable=False)


def load_index(store: Store, classify: bool = True) -> Index:
    """Every feature (with its classification when `classify`), in creation order; corrupt
    manifests become warnings."""
    store.require_initialized()
    builder = _Builder(store, classify)
    fresh = builder.build()
    builder.save()
    entries = []
    for slug, e in fresh.items():
        if "summary" not in e:
            continue
        phase, archived, created_at, updated_at = e["fields"]
        entries.append(
            IndexEntry(
                slug,
                phase,
                archived,
                created_at,
                updated_at,
                e["dependencies"],
                e["blockers"],
                e["summary"],
                e["cls"] if classify else None,
                e.get("action") if classify else None,
                e.get("rule") if classify else None,
            )
        )
    entries.sort(key=lambda e: (e.created_at, e.slug))
    return Index(entries, sorted(e["error"] for e in fresh.values() if e.get("error")))


def rebuild_state(store: Store) -> dict[str, Any]:
    """state.yaml from the manifests (and the last events for `history`)."""
    from sdlc.events import recent_events
    from sdlc.model import now
    from sdlc.state import HISTORY_LIMIT, empty_state, history_entry

    index = load_index(store, classify=False)
    state = empty_state(store.config.project_name)
    phases = {e.slug: e.phase for e in index.entries}
    state["active_features"] = [e.slug for e in index.entries if e.active]
    state["blocked"] = [
        {"feature": e.slug, "reason": "; ".join(e.blockers), "since": e.updated_at}
        for e in index.entries
        if e.blockers and not e.archived
    ]
    milestones = []
    for slug in store.milestone_slugs():
        with contextlib.suppress(CorruptFile):
            milestones.append(store.load_milestone(slug))
    state["milestones"] = [m.slug for m in sorted(milestones, key=lambda m: (m.created_at, m.slug))]
    state["history"] = [
        history_entry(e, phases.get(e.get("feature") or ""))
        for e in recent_events(store.paths.events, HISTORY_LIMIT)
    ]
    previous = store.read_state() or {}
    state["active_work"] = previous.get("active_work") or []
    state["last_updated"] = now()
    return state
