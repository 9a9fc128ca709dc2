"""Read-only lookups of one feature: `feature show` and `next --for`, the commands agents run
at every step. Kept apart from the mutations, and served from the feature's cache record
(sdlc.feature_cache) while the manifest, the artifact files the classifier reads, the config
and the dependencies' phases are unchanged: a hit loads no YAML, model or classifier code
(spec/sdlc.md §11). The files always win over the cache."""

from __future__ import annotations

import json
from typing import Any

from sdlc.errors import SdlcError
from sdlc.feature_cache import manifest_key, manifest_record, read_record, write_record
from sdlc.jsontext import JsonText
from sdlc.names import check_slug
from sdlc.store import Store


def _state(store: Store, slug: str) -> list[Any] | None:
    """[phase, archived] of a dependency, or None when it does not exist (or cannot be read)."""
    record = read_record(store.paths, slug)
    if record is not None:
        return [record["phase"], record["archived"]]
    try:
        feature = store.load_feature(slug)
    except SdlcError:  # missing, corrupt or a hand-edited bad name: absent; doctor says why
        return None
    return [feature.phase, feature.archived]


def show_feature(store: Store, slug: str) -> JsonText:
    """The whole manifest; `description` and `scores` are always present."""
    data = store.load_feature(slug).to_dict()
    data.setdefault("description", None)
    data.setdefault("scores", [])
    return JsonText(json.dumps(data, ensure_ascii=False))


def next_for(store: Store, slug: str) -> JsonText:
    """The classification of one feature."""
    from sdlc.index import classifier_files, watched_files, watched_unchanged

    check_slug(slug)
    store.require_initialized()
    config_key = store.config_signature()
    record = read_record(store.paths, slug)
    if record is not None and record.get("next") is not None and record.get("config") == config_key:
        fresh = watched_unchanged(str(store.paths.features), slug, record["watch"]) and all(
            _state(store, dep) == state for dep, state in record["deps"].items()
        )
        if fresh:
            return JsonText(record["next"])
    from sdlc.classifier import classify

    key = manifest_key(store.paths, slug)
    feature = store.load_feature(slug)
    watch, hashes = watched_files(store, feature, {})
    deps = {dep: _state(store, dep) for dep in feature.dependencies}
    states = {d: (s[0], s[1]) if s else None for d, s in deps.items()}
    result = json.dumps(
        classify(feature, store.config, classifier_files(watch, hashes), states).to_dict(), ensure_ascii=False
    )
    fresh_record = manifest_record(key, feature.to_dict())
    if fresh_record is not None:
        fresh_record.update(watch=watch, hashes=hashes, config=config_key, deps=deps, next=result)
        write_record(store.paths, slug, fresh_record)
    return JsonText(result)
