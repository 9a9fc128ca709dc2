"""Per-feature records in `.sdlc/.cache/features/<slug>.bin` (marshal): the manifest as
JSON text, keyed on the manifest's stat, plus what `next --for` computed from it. Reading a
feature through its record needs no YAML parser; a record whose key no longer matches the
manifest is ignored. Records are written atomically and only ever as an accelerator."""

from __future__ import annotations

import contextlib
import marshal
import sys
from typing import Any

from sdlc._version import __version__
from sdlc.atomic import write_atomic
from sdlc.paths import ProjectPaths
from sdlc.statcache import stat_key

RECORD_FORMAT = f"{__version__}/py{sys.version_info[0]}.{sys.version_info[1]}/records-2"
MANIFEST = "manifest.yaml"


def manifest_key(paths: ProjectPaths, slug: str) -> list[int] | None:
    return stat_key(f"{paths.features}/{slug}/{MANIFEST}")


def read_record(paths: ProjectPaths, slug: str) -> dict[str, Any] | None:
    """The record of `slug` while its manifest is unchanged, else None."""
    try:
        data = marshal.loads((paths.cache / "features" / f"{slug}.bin").read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT or "manifest" not in data:
        return None
    return data if data.get("key") == manifest_key(paths, slug) else None


def write_record(paths: ProjectPaths, slug: str, record: dict[str, Any]) -> None:
    data = {"format": RECORD_FORMAT, **record}
    with contextlib.suppress(OSError, ValueError):
        write_atomic(paths.cache / "features" / f"{slug}.bin", marshal.dumps(data), durable=False)


def manifest_record(key: list[int] | None, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """A record for a manifest read (or written) under `key`; None when it cannot be one
    (no key, or a value JSON cannot hold, which a hand-written file may contain)."""
    import json

    if key is None:
        return None
    try:
        text = json.dumps(manifest, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return {
        "key": key,
        "manifest": text,
        "phase": manifest.get("phase"),
        "archived": manifest.get("archived"),
    }
