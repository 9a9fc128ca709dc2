"""Read-only lookups of one feature: `feature show` and `next --for`, the commands agents run
at every step. Kept apart from the mutations, and served from a per-feature cache
(`.sdlc/.cache/features/<slug>.bin`) while the feature's manifest, the artifact files the
classifier reads, the config and the dependencies' phases are unchanged: a cache hit loads no
YAML, model or classifier code (spec/sdlc.md §11). The files always win over the cache."""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import sys
from typing import TYPE_CHECKING, Any

from sdlc._version import __version__
from sdlc.atomic import write_atomic
from sdlc.errors import SdlcError
from sdlc.jsontext import JsonText
from sdlc.names import check_slug
from sdlc.store import MANIFEST, Store

if TYPE_CHECKING:
    from sdlc.model import Feature

CACHE_FORMAT = f"{__version__}/py{sys.version_info[0]}.{sys.version_info[1]}/1"


def _manifest_key(store: Store, slug: str) -> list[int] | None:
    try:
        st = os.stat(f"{store.paths.features}/{slug}/{MANIFEST}")
    except (FileNotFoundError, NotADirectoryError):
        return None
    return [st.st_mtime_ns, st.st_size]


def _record(store: Store, slug: str) -> dict[str, Any] | None:
    """The cached record of `slug` while its manifest is unchanged."""
    try:
        data = marshal.loads((store.paths.cache / "features" / f"{slug}.bin").read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
        return None
    return data if data["key"] == _manifest_key(store, slug) else None


def _remember(store: Store, slug: str, record: dict[str, Any]) -> None:
    data = {"format": CACHE_FORMAT, **record}
    with contextlib.suppress(OSError, ValueError):  # only an accelerator
        write_atomic(store.paths.cache / "features" / f"{slug}.bin", marshal.dumps(data), durable=False)


def _load(store: Store, slug: str) -> tuple[dict[str, Any], Feature]:
    """Parse the manifest (the slow path) and cache what the lookups need; the key is taken
    before the read, so a concurrent write only ever makes the record stale."""
    from sdlc.index import watched_files

    key = _manifest_key(store, slug)
    feature = store.load_feature(slug)
    shown = feature.to_dict()
    shown.setdefault("description", None)
    shown.setdefault("scores", [])
    watch, hashes = watched_files(store, feature, {})
    record = {
        "key": key,
        "phase": feature.phase,
        "archived": feature.archived,
        "show": json.dumps(shown, ensure_ascii=False),
        "watch": watch,
        "hashes": hashes,
        "config": None,
        "deps": None,
        "next": None,
    }
    return record, feature


def _state(store: Store, slug: str) -> list[Any] | None:
    """[phase, archived] of a dependency, or None when it does not exist (or cannot be read)."""
    record = _record(store, slug)
    if record is None:
        try:
            record, _ = _load(store, slug)
        except SdlcError:  # missing, corrupt or a hand-edited bad name: absent; doctor says why
            return None
        _remember(store, slug, record)
    return [record["phase"], record["archived"]]


def show_feature(store: Store, slug: str) -> JsonText:
    """The whole manifest; `description` and `scores` are always present."""
    check_slug(slug)
    store.require_initialized()
    record = _record(store, slug)
    if record is None:
        record, _ = _load(store, slug)
        _remember(store, slug, record)
    return JsonText(record["show"])


def next_for(store: Store, slug: str) -> JsonText:
    """The classification of one feature."""
    from sdlc.index import classifier_files, watched_unchanged

    check_slug(slug)
    store.require_initialized()
    config_key = store.config_signature()
    record = _record(store, slug)
    if record is not None and record["next"] is not None and record["config"] == config_key:
        fresh = watched_unchanged(str(store.paths.features), slug, record["watch"]) and all(
            _state(store, dep) == state for dep, state in record["deps"].items()
        )
        if fresh:
            return JsonText(record["next"])
    from sdlc.classifier import classify

    record, feature = _load(store, slug)
    deps = {dep: _state(store, dep) for dep in feature.dependencies}
    states = {d: (s[0], s[1]) if s else None for d, s in deps.items()}
    result = classify(feature, store.config, classifier_files(record["watch"], record["hashes"]), states)
    record.update(config=config_key, deps=deps, next=json.dumps(result.to_dict(), ensure_ascii=False))
    _remember(store, slug, record)
    return JsonText(record["next"])
