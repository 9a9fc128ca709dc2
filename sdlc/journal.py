"""A redo journal that makes one transaction's writes all-or-nothing across files.

Before touching any file, a transaction writes `.sdlc/.journal` (atomically, fsync'd) with
every file's new content and its numbered events. Then it applies them and deletes the
journal. A process killed half way leaves the journal behind; the next mutating command
replays it under the lock, so a change is never in a manifest without its events.jsonl line
(spec/sdlc.md §7)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from sdlc.atomic import write_atomic
from sdlc.events import append_numbered
from sdlc.paths import ProjectPaths


def write_journal(paths: ProjectPaths, files: dict[str, str], events: list[dict[str, Any]]) -> None:
    """Record the transaction: `files` maps paths relative to the root to their new text."""
    data = {"files": files, "events": events}
    write_atomic(paths.journal, json.dumps(data, ensure_ascii=False).encode())


def apply_journal(paths: ProjectPaths, files: dict[str, str], events: list[dict[str, Any]]) -> None:
    """Write every file, append the events not yet in the log, then drop the journal."""
    for relative, text in files.items():
        write_atomic(paths.root / relative, text.encode())
    append_numbered(paths.events, events)
    with contextlib.suppress(FileNotFoundError):
        paths.journal.unlink()


def replay_journal(paths: ProjectPaths) -> bool:
    """Finish a transaction that a killed process left half done. The caller holds the lock."""
    try:
        data = json.loads(paths.journal.read_bytes())
    except FileNotFoundError:
        return False
    except ValueError:  # cannot happen with an atomic write; a torn journal was never applied
        paths.journal.unlink()
        return False
    apply_journal(paths, data["files"], data["events"])
    return True
