"""Derived data cached under `.sdlc/.cache/`, keyed on the stat of the file it comes from."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdlc.atomic import write_atomic


def stat_key(path: str | Path) -> list[int] | None:
    """[mtime_ns, size] of `path`, or None when it does not exist."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return [st.st_mtime_ns, st.st_size]


def cached_by_stat(source: Path, cache: Path, compute: Callable[[], Any]) -> Any:
    """`compute()` (JSON-able), reused from `cache` while `source`'s stat is unchanged. The key
    is taken before computing, so a concurrent change only ever makes the cache stale."""
    key = stat_key(source)
    with contextlib.suppress(OSError, ValueError):
        cached = json.loads(cache.read_bytes())
        if cached.get("key") == key:
            return cached["data"]
    data = compute()
    with contextlib.suppress(OSError, TypeError, ValueError):  # only an accelerator
        write_atomic(cache, json.dumps({"key": key, "data": data}).encode(), durable=False)
    return data
