"""Run records (`.sdlc/runs/<id>.json`, spec/sdlc.md §9) and the per-feature run lock."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdlc.atomic import write_atomic
from sdlc.errors import RunInProgress
from sdlc.store import Store


def runs_dir(store: Store) -> Path:
    return store.paths.sdlc / "runs"


def new_run_id() -> str:
    """A time-sortable, unique id: UTC timestamp to the microsecond and 24 random bits."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def save_record(store: Store, record: dict[str, Any]) -> None:
    data = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    write_atomic(runs_dir(store) / f"{record['id']}.json", data.encode())


def latest_record(store: Store, slug: str) -> dict[str, Any] | None:
    """The newest run record of `slug` (its current step), or None."""
    try:
        names = sorted((p.name for p in runs_dir(store).glob("*.json")), reverse=True)
    except OSError:
        return None
    for name in names:
        try:
            record = json.loads((runs_dir(store) / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a hand-damaged record is not a step
        if (
            isinstance(record, dict)
            and record.get("feature") == slug
            and isinstance(record.get("gates"), list)
        ):
            return record
    return None


@contextlib.contextmanager
def feature_run_lock(store: Store, slug: str) -> Iterator[None]:
    """One `sdlc run` per feature at a time: two agents working the same step would collide.
    A lock file per feature under .sdlc/runs/, released by the OS if the run dies."""
    from filelock import FileLock, Timeout

    directory = runs_dir(store)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / f"{slug}.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunInProgress(
            f"a run of '{slug}' is already in progress",
            hint=f"wait for it to finish, or see its record: ls {store.paths.relative(directory)}",
        ) from None
    try:
        yield
    finally:
        lock.release()
